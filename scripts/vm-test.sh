#!/usr/bin/env bash
# Runs test files inside a throw-away pure-cgroup-v2 VM (most readers'
# machines are cgroup v2; this project's own CI host is v1 hybrid).
#   sudo bash scripts/vm-test.sh chapters/03-cgroups   # folders or files
#   sudo npm run test:v2                               # the default set
# The guest has no network, so prerequisites and node_modules come from
# the host first. Engine state lives on a tmpfs: overlayfs upper
# directories cannot sit on the guest's root, itself an overlay.
# Everything runs about ten times slower there: the default set takes
# about an hour, and node's --test-timeout bounds a whole file too, so
# both limits are generous (VM_TIMEOUT, VM_TEST_TIMEOUT override them).
set -euo pipefail
cd "$(dirname "$0")/.."

VM_RUN=${VM_RUN:-../shared/tools/vm-run}
if [ ! -x "$VM_RUN" ]; then
  echo "vm-test: $VM_RUN not found (set VM_RUN)" >&2
  exit 125
fi
bash scripts/prereqs.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

roots=("$@")
# chapter 06 whole: the guest's kernel has AppArmor on, and IA32.
[ ${#roots[@]} -eq 0 ] && roots=(chapters/02-namespaces chapters/03-cgroups
  chapters/04-aufs-overlay chapters/06-security final)
mapfile -t files < <(find "${roots[@]}" -name '*.test.ts' \
  -not -path '*/node_modules/*' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files under ${roots[*]}" >&2
  exit 1
fi
# Build what tests compile or cache (the trampoline, the busybox rootfs)
# on the host, where it is ten times faster.
node --import tsx -e "
  await import('./chapters/01-chroot/rootfs.ts').then((m) => m.cachedRootfs());
  const { SECURE_INIT } = await import('./chapters/06-security/defaults.ts');
  const { FAST_INIT } = await import('./final/fast/spare.ts');
  await import('./chapters/02-namespaces/build.ts').then((m) => {
    m.nsexecPath(); m.initBundlePath(); m.initBundlePath(SECURE_INIT);
    m.initBundlePath(FAST_INIT);
    m.compileStatic('probe.c', 'chapters/06-security');
  });
" >/dev/null
exec "$VM_RUN" --timeout "${VM_TIMEOUT:-7200}" --tmpfs /var/lib/skiff \
  -e SKIFF_VM=1 -- \
  "node --import tsx --test --test-reporter=spec --test-concurrency=1 \
   --test-timeout=${VM_TEST_TIMEOUT:-3600000} ${files[*]}"
