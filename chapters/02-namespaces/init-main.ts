// The entry of this chapter's init bundle (build.ts): the init alone.
import { runInit } from './init.ts';

runInit();
