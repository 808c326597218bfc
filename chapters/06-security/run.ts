// Demo: chapter 05's container, in chapter 03's cgroup (its devices
// rules are half of what stops mknod), with root's powers taken away.
//
//   sudo npx tsx chapters/06-security/run.ts [--cap-add CAP]...
//     [--cap-drop CAP]... [--privileged] [--seccomp FILE|unconfined]
//     [--apparmor PROFILE] [--no-new-privileges] [--network MODE]
//     [--userns host] <rootfs> <command> [args...]
//
// Without flags, docker's defaults: 14 capabilities, skiff's seccomp
// profile, AppArmor's skiff-default where the kernel has AppArmor.
// --seccomp takes a profile in Docker's JSON format.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { exitWithError } from '../01-chroot/fail.ts';
import { ALL_NAMESPACES, defaultSpec } from '../02-namespaces/defaults.ts';
import { startContainer } from '../02-namespaces/start.ts';
import { cgroupStep } from '../03-cgroups/step.ts';
import { netConfigFromEnv } from '../05-network/network.ts';
import { networkStep } from '../05-network/step.ts';
import {
  SECURE_INIT, type SecurityChoices, withSecurity,
} from './defaults.ts';

const USAGE = 'usage: run.ts [--cap-add CAP]... [--cap-drop CAP]... ' +
  '[--privileged] [--seccomp FILE|unconfined] [--apparmor PROFILE] ' +
  '[--no-new-privileges] [--network MODE] [--userns host] ' +
  '<rootfs> <command> [args...]';

const SWITCHES = ['--privileged', '--no-new-privileges'];

function parse(argv: string[]) {
  const o: SecurityChoices & { network: string; userns: boolean } = {
    capAdd: [], capDrop: [], network: 'bridge', userns: true };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const a = argv[i];
    if (a === '--privileged') o.privileged = true;
    else if (a === '--no-new-privileges') o.noNewPrivileges = true;
    if (SWITCHES.includes(a)) continue;
    const v = argv[++i];
    if (v === undefined) throw new Error(`option ${a} needs a value`);
    if (a === '--cap-add') o.capAdd!.push(v);
    else if (a === '--cap-drop') o.capDrop!.push(v);
    else if (a === '--seccomp') o.seccomp = profileText(v);
    else if (a === '--apparmor') o.apparmor = v;
    else if (a === '--network') o.network = v;
    else if (a === '--userns' && v === 'host') o.userns = false;
    else throw new Error(`unknown option "${a} ${v}"\n${USAGE}`);
  }
  const [rootfs, ...args] = argv.slice(i);
  if (!rootfs || args.length === 0) throw new Error(USAGE);
  return { ...o, rootfs, args };
}

/** A profile's text, read here as the docker CLI reads it. */
function profileText(v: string): string {
  if (v === 'unconfined') return v;
  try {
    return readFileSync(v, 'utf8');
  } catch (err) {
    throw new Error(`seccomp profile "${v}": ${
      (err as NodeJS.ErrnoException).code}`, { cause: err });
  }
}

// #region main
async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  const id = randomBytes(32).toString('hex');
  const spec = withSecurity(defaultSpec({ rootfs: o.rootfs, args: o.args,
    hostname: id.slice(0, 12),
    namespaces: ALL_NAMESPACES.filter((n) => o.userns || n !== 'user') }),
  o);
  const steps = [cgroupStep(),
    networkStep({ network: o.network, config: netConfigFromEnv() })];
  // SECURE_INIT: chapter 02's init with this chapter's layer.
  const container = await startContainer(spec, { id, steps,
    init: SECURE_INIT });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => container.kill(sig));
  }
  const status = await container.wait();
  await container.destroy();
  return status.code;
}
// #endregion

main(process.argv.slice(2)).then((code) => process.exit(code), exitWithError);
