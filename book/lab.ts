// Grades your work on a chapter's labs.
//
//   sudo npm run lab 01-chroot            every lab of chapter 1
//   sudo npm run lab 01-chroot/pivot-root one lab
//   sudo npm run lab                      every lab of the book
//   sudo npm run lab -- --fail-fast 01-chroot   stop at the first miss
//
// Exit status 0 when every check passes, 1 when some fail, 2 on misuse.
import chalk from 'chalk';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  findLabs, gradeLab, labTitle, type Lab, type LabInfo,
} from './labs.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function gradeOne(info: LabInfo, failFast: boolean)
  : Promise<boolean> {
  const id = `${info.chapter}/${info.name}`;
  console.log(chalk.bold(`\nlab ${id}: ${labTitle(info)}`));
  const mod = await import(pathToFileURL(info.grader).href) as
    { default?: Lab };
  if (!mod.default?.checks) {
    console.log(chalk.red(`  ${relative(REPO, info.grader)} exports no ` +
      'defineLab({ ... }) as default'));
    return false;
  }
  const results = await gradeLab(mod.default, REPO, { failFast }, (r) => {
    if (r.ok) {
      console.log(`  ${chalk.green('✔')} ${r.name}`);
      return;
    }
    console.log(`  ${chalk.red('✘')} ${r.name}`);
    for (const line of (r.reason ?? '').split('\n')) {
      console.log(chalk.dim(`      ${line}`));
    }
  });
  const passed = results.filter((r) => r.ok).length;
  const all = passed === results.length;
  const summary = `  ${passed}/${results.length} checks pass`;
  console.log(all ? chalk.green(`${summary}: lab complete`)
    : chalk.yellow(`${summary}: keep going`));
  return all;
}

async function main(args: string[]): Promise<number> {
  const failFast = args.includes('--fail-fast');
  const filter = (args.find((a) => !a.startsWith('--')) ?? '')
    .replace(/\/$/, '');
  if (process.getuid?.() !== 0) {
    console.error('skiff: labs run containers: use sudo npm run lab ...');
    return 2;
  }
  const labs = findLabs(REPO, filter);
  if (labs.length === 0) {
    const known = findLabs(REPO).map((l) => `${l.chapter}/${l.name}`);
    console.error(`skiff: no lab matches "${filter}"; labs: ` +
      (known.join(', ') || 'none yet'));
    return 2;
  }
  let ok = true;
  for (const info of labs) ok = (await gradeOne(info, failFast)) && ok;
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
