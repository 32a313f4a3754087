import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');

function layoutSection(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = /\n## Layout\n([\s\S]*?)(?=\n## |$)/.exec(readme);
  if (!section) throw new Error('README.md has no "## Layout" section');
  return section[1]!;
}

function subfolders(dir: string): string[] {
  return fs
    .readdirSync(path.join(REPO, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `${dir}/${e.name}`);
}

test("the README's Layout names every tracked top-level folder and every folder of src/ and test/", () => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: REPO, encoding: 'utf8' }).split('\n');
  const topLevel = [...new Set(tracked.filter((f) => f.includes('/')).map((f) => f.split('/')[0]!))];
  const layout = layoutSection();
  const folders = [...topLevel, ...subfolders('src'), ...subfolders('test').map((f) => f.slice('test/'.length))];
  const missing = folders.filter((f) => !layout.includes(`\`${f}`) && !layout.includes(`\`${f}/`));
  expect(missing).toEqual([]);
});
