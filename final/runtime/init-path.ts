// Where skiff-runtime's init entry is: chapter 02's build.ts bundles it.
import { fileURLToPath } from 'node:url';

export const RUNTIME_INIT = fileURLToPath(
  new URL('./init-main.ts', import.meta.url));
