// Step 4: the jar in a new release folder on the host: reused by a hard link when the host has the same jar,
// else uploaded and checked against its sha256. The env files (mode 600, one per port) go beside it.
import { envFileContent, prepareRelease, verifyUpload } from '../commands/release.js';
import { envFor } from '../per-port.js';
import type { HostContext } from './context.js';

/** Returns the release folder actually used: the release-id, or release-id-N if the host had that name. */
export async function upload(ctx: HostContext): Promise<string> {
  const { settings: s, paths, host } = ctx;
  return ctx.steps.run('Upload', async (detail) => {
    const { jar, releaseId: wanted } = s;
    if (!jar || wanted === undefined) throw new Error('mode deploy without a jar or release-id'); // inputs ensure both
    const size = jar.bytes;
    const { releaseId, reusedFrom } = await host.run(prepareRelease(paths, wanted, jar.sha256, size));
    ctx.state.releaseId = releaseId;
    if (releaseId !== wanted) ctx.log.info(`release ${wanted} exists on the host: this one is ${releaseId}`);
    // One file per colour: a rollback may launch this release on either port.
    if (s.env.length + s.secretEnv.length > 0) {
      for (const port of [s.bluePort, s.greenPort]) {
        await host.writeFile(paths.envFile(releaseId, port), envFileContent(envFor(s, port)), 0o600);
      }
    }
    if (reusedFrom) {
      detail(
        `same jar (sha256 ${jar.sha256.slice(0, 12)}) already on the host: linked from ${reusedFrom}, nothing uploaded`,
      );
      return releaseId;
    }
    const started = ctx.clock.now();
    await host.upload(jar.path, `${paths.jar(releaseId)}.part`);
    const seconds = (ctx.clock.now() - started) / 1000;
    await host.run(verifyUpload(paths, releaseId, jar.sha256));
    detail(`${amount(size)} in ${seconds.toFixed(2)} s (${rate(size, seconds)} MB/s), sha256 verified`);
    return releaseId;
  });
}

function amount(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

function rate(bytes: number, seconds: number): string {
  return (bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(1);
}
