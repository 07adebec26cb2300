// The undo list of a deploy that fails before the switch: newest first, each once, a failed undo a warning.
import { UndoList } from '../../src/steps/context.js';
import { recordingLog } from '../support/fake-host.js';

test('undone newest first, each action once; a failed one is a warning and the rest still run', async () => {
  const log = recordingLog();
  const undo = new UndoList();
  const ran: string[] = [];
  undo.push('remove the upload', async () => ran.push('remove'));
  undo.push('stop the new app (pid 22)', () => Promise.reject(new Error('connection lost')));
  undo.push('free the port', async () => ran.push('free'));
  await undo.runAll(log);
  expect(ran).toEqual(['free', 'remove']);
  expect(log.lines).toEqual([
    'info: undo: free the port',
    'info: undo: stop the new app (pid 22)',
    'warning: could not stop the new app (pid 22): connection lost',
    'info: undo: remove the upload',
  ]);
  await undo.runAll(log);
  expect(ran).toEqual(['free', 'remove']);
});

test('cleared at the switch: nothing is undone after it', async () => {
  const log = recordingLog();
  const undo = new UndoList();
  undo.push('stop the new app (pid 22)', () => Promise.reject(new Error('must not run')));
  undo.clear();
  await undo.runAll(log);
  expect(log.lines).toEqual([]);
});
