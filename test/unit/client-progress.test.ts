import { ProgressNotifier } from '../../src/client/progress';

test('a progress callback that throws goes to the injected log; the other callbacks are still called', async () => {
  const logged: [string, Record<string, unknown> | undefined][] = [];
  const progress = new ProgressNotifier({ error: (msg, fields) => logged.push([msg, fields]) });
  const seen: [number, number][] = [];
  progress.add('upload', 'reportIndefinitely', () => {
    throw new Error('callback broke');
  });
  progress.add('upload', 'reportIndefinitely', (transferred, transferable) => seen.push([transferred, transferable]));
  progress.update('upload', 5, 10);
  expect(seen).toEqual([[5, 10]]);
  expect(logged).toEqual([['a progress callback threw', { direction: 'upload', error: expect.objectContaining({ message: 'callback broke' }) }]]);
});
