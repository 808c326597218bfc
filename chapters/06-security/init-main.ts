// The entry of this chapter's init bundle (chapter 02's build.ts):
// chapter 02's init, with the process's privileges confined before it
// becomes the command. defaults.ts exports its path as SECURE_INIT.
import { runInit } from '../02-namespaces/init.ts';
import { confinement } from './confine.ts';

runInit([confinement]);
