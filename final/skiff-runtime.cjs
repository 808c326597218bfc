#!/usr/bin/env node
// skiff-runtime as containerd, podman and runtime-tools run it (through
// the link final/skiff-runtime): final/runtime.ts bundled by esbuild
// like the CLI (skiff.cjs), so that each command costs node's start-up,
// not tsx compiling TypeScript. Plain CommonJS: node runs it directly.
'use strict';
require('./skiff.cjs').launch('final/runtime.ts', 'runtime',
  (m) => m.main(process.argv.slice(2)).then((code) => process.exit(code)));
