// Deploys v1, then v2 of the demo app to a fresh loopback target, the way a workflow step would.
// Run by scripts/demo.sh (npm run demo) with tsx; `--keep` leaves the target running.
import { buildDemoJar } from '../test-target/demo-jar.js';
import { runAction, targetInputs } from '../test-target/run-action.js';
import { startTarget } from '../test-target/start-target.js';
import { becomes } from '../test-target/wait.js';

const keep = process.argv.includes('--keep');

/** The runner's view of the log: groups as headings, debug lines hidden. */
function show(log: string): void {
  for (const line of log.split('\n')) {
    // The runner consumes these workflow commands; they never reach the visible log.
    if (/^::(debug|add-mask|set-output|endgroup)/.test(line)) continue;
    if (line.startsWith('::group::')) console.log(`\n  ▸ ${line.slice(9)}`);
    else if (line.startsWith('::error')) console.log(`    ERROR ${line.replace(/^::error[^:]*::/, '')}`);
    else if (line.startsWith('::warning'))
      console.log(`    WARNING ${line.replace(/^::warning[^:]*::/, '')}`);
    else if (line.trim()) console.log(`    ${line.replace(/%0A/g, '\n    ')}`);
  }
}

const target = await startTarget();
console.log(
  `Target: sshd on 127.0.0.1:${target.sshPort} (user ${target.username}), nginx on ${target.nginxUrl}`,
);
console.log(`        app ports ${target.bluePort}/${target.greenPort}, remote-dir ${target.remoteDir}`);
let failed = false;
try {
  for (const version of ['v1', 'v2']) {
    const jar = await buildDemoJar({ version, startDelayMs: 1500 });
    console.log(`\n=== Deploying ${version} (${jar})`);
    const result = await runAction({ inputs: targetInputs(target, { jar }) });
    show(result.stdout);
    console.log(`\n  exit code ${result.code}; outputs: ${JSON.stringify(result.outputs)}`);
    const answer = await target.get('/');
    console.log(`  nginx ${target.nginxUrl}/ answers: ${answer.status} ${answer.body.trim()}`);
    if (result.code !== 0) failed = true;
  }
  // The old JVM finishes its graceful exit after the deploy (within stop-timeout).
  await becomes(() => target.appProcesses().length === 1, { timeoutMs: 12_000 });
  console.log('\nApp processes on the target:');
  for (const p of target.appProcesses()) console.log(`  ${p.pid} ${p.cmdline}`);
} finally {
  if (keep) {
    target.keepAfterExit();
    console.log(
      `\n--keep: the target stays up (sshd pid ${target.sshdPid}, nginx pid ${target.nginxPid}, dir ${target.dir}).`,
    );
    console.log('Stop it with: kill the pids above and the app pids, then rm -rf the dir.');
  } else {
    await target.stop();
    console.log('\nTarget stopped and removed.');
  }
}
process.exitCode = failed ? 1 : 0;
