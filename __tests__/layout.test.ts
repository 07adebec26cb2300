// Where things live under remote-dir: every command builds its paths from this one layout.
import { layout } from '../src/layout.js';

test('every path under remote-dir', () => {
  const paths = layout('/opt/app');
  expect(paths).toMatchObject({
    root: '/opt/app',
    releases: '/opt/app/releases',
    runDir: '/opt/app/run',
    lockFile: '/opt/app/.deploy.lock',
    lockInfo: '/opt/app/.deploy.lock.info',
    pending: '/opt/app/run/pending',
  });
  expect(paths.release('r7')).toBe('/opt/app/releases/r7');
  expect(paths.jar('r7')).toBe('/opt/app/releases/r7/app.jar');
  expect(paths.envFile('r7', 8081)).toBe('/opt/app/releases/r7/app-8081.env');
  expect(paths.legacyEnvFile('r7')).toBe('/opt/app/releases/r7/app.env');
  expect(paths.log('r7')).toBe('/opt/app/releases/r7/app.log');
  expect(paths.pidFile(8081)).toBe('/opt/app/run/8081.pid');
});
