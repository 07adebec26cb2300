// npm run test:mutation: StrykerJS over src/, area by area (stryker.config.mjs), then one score for all of it:
// detected (killed or timed out) over every mutant that ran or had no test (survived, no coverage). Prints a
// line per file and per area, and fails below 85 %. `node scripts/mutation.mjs steps` runs one area;
// `node scripts/mutation.mjs --report` only adds up the reports there are.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const AREAS = ['commands', 'steps', 'operate', 'inputs'];
const BREAK = 85;
const args = process.argv.slice(2);
const reportOnly = args.includes('--report');
const areas = reportOnly ? [] : args.length > 0 ? args : AREAS;

for (const area of areas) {
  console.log(`\n== mutation testing: ${area}`);
  const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], {
    stdio: 'inherit',
    env: { ...process.env, MUTATION_AREA: area },
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

const count = (mutants) => {
  const c = { detected: 0, survived: 0, noCoverage: 0 };
  for (const m of mutants) {
    if (m.status === 'Killed' || m.status === 'Timeout') c.detected++;
    else if (m.status === 'Survived') c.survived++;
    else if (m.status === 'NoCoverage') c.noCoverage++;
  }
  return c;
};
const score = (c) => (100 * c.detected) / Math.max(1, c.detected + c.survived + c.noCoverage);
const line = (name, c) =>
  `${score(c).toFixed(1).padStart(6)} %  ${String(c.detected).padStart(5)} detected ${String(c.survived).padStart(4)} survived ${String(c.noCoverage).padStart(4)} no coverage  ${name}`;

const total = { detected: 0, survived: 0, noCoverage: 0 };
for (const area of AREAS) {
  let report;
  try {
    report = JSON.parse(readFileSync(`reports/mutation/${area}.json`, 'utf8'));
  } catch {
    console.log(`(no report for ${area}: run npm run test:mutation)`);
    continue;
  }
  const sum = { detected: 0, survived: 0, noCoverage: 0 };
  console.log(`\n${area}`);
  for (const [file, { mutants }] of Object.entries(report.files).sort()) {
    const c = count(mutants);
    console.log(line(file, c));
    for (const k of Object.keys(sum)) sum[k] += c[k];
  }
  console.log(line(`= ${area}`, sum));
  for (const k of Object.keys(total)) total[k] += sum[k];
}
console.log(`\n${line('= src/ (all areas)', total)}`);
if (score(total) < BREAK) {
  console.error(`mutation score ${score(total).toFixed(1)} % is below ${BREAK} %`);
  process.exit(1);
}
