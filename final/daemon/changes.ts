// `--change` / `-c` of `import` and `commit`: Dockerfile instructions
// that set an image's default config (CMD, ENTRYPOINT, ENV, WORKDIR,
// USER, EXPOSE, LABEL, STOPSIGNAL, VOLUME), as the Dockerfile reference
// defines them: JSON ("exec") form, or shell form run by /bin/sh -c.
import type { ContainerConfig } from
  '../../chapters/04-aufs-overlay/store.ts';
import { BadRequest } from './volumes.ts';

// #region changes (unused)
/** Applies each instruction in turn to a copy of `base`. */
export function applyChanges(base: ContainerConfig, lines: string[])
  : ContainerConfig {
  const cfg: ContainerConfig = structuredClone(base);
  for (const line of lines) {
    const m = /^\s*(\w+)\s+([\s\S]*\S)\s*$/.exec(line);
    if (!m) throw new BadRequest(`invalid change "${line}"`);
    const [, word, rest] = m;
    const op = word.toUpperCase();
    if (op === 'CMD') cfg.Cmd = command(rest);
    else if (op === 'ENTRYPOINT') cfg.Entrypoint = command(rest);
    else if (op === 'WORKDIR') cfg.WorkingDir = rest;
    else if (op === 'USER') cfg.User = rest;
    else if (op === 'STOPSIGNAL') cfg.StopSignal = rest;
    else if (op === 'ENV') cfg.Env = setEnv(cfg.Env ?? [], pairs(rest));
    else if (op === 'LABEL') {
      cfg.Labels = { ...cfg.Labels, ...Object.fromEntries(pairs(rest)) };
    } else if (op === 'EXPOSE') {
      for (const p of rest.split(/\s+/)) {
        if (!/^\d+(\/(tcp|udp|sctp))?$/.test(p)) {
          throw new BadRequest(`invalid change "${line}": port "${p}"`);
        }
        (cfg.ExposedPorts ??= {})[p.includes('/') ? p : `${p}/tcp`] = {};
      }
    } else if (op === 'VOLUME') {
      for (const v of list(rest)) (cfg.Volumes ??= {})[v] = {};
    } else {
      throw new BadRequest(`invalid change "${line}": ${op} is not one ` +
        'of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, ' +
        'VOLUME, WORKDIR');
    }
  }
  return cfg;
}
// #endregion

/** Exec form `["a", "b"]`, else shell form: ["/bin/sh", "-c", text]. */
function command(rest: string): string[] {
  if (rest.startsWith('[')) {
    const v = jsonList(rest);
    if (v) return v;
  }
  return ['/bin/sh', '-c', rest];
}

function list(rest: string): string[] {
  return (rest.startsWith('[') ? jsonList(rest) : undefined) ??
    rest.split(/\s+/);
}

function jsonList(text: string): string[] | undefined {
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch { /* not JSON: shell form */ }
  return undefined;
}

/** `A=1 B="two words"`, or the legacy `A one value`. */
function pairs(rest: string): [string, string][] {
  if (!/^[^\s=]+=/.test(rest)) {
    const sp = rest.search(/\s/);
    if (sp < 0) throw new BadRequest(`invalid change: "${rest}" needs =`);
    return [[rest.slice(0, sp), rest.slice(sp).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of rest.matchAll(re)) {
    let v = m[2];
    if (v.startsWith('"')) v = JSON.parse(v);
    else if (v.startsWith('\'')) v = v.slice(1, -1);
    out.push([m[1], v]);
  }
  return out;
}

function setEnv(env: string[], kv: [string, string][]): string[] {
  const out = [...env];
  for (const [k, v] of kv) {
    const i = out.findIndex((e) => e.split('=')[0] === k);
    if (i >= 0) out[i] = `${k}=${v}`;
    else out.push(`${k}=${v}`);
  }
  return out;
}
