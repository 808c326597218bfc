// Names for containers started without --name: docker's "adjective_
// scientist" style (moby's pkg/namesgenerator), a shorter list.
import { randomInt } from 'node:crypto';

const LEFT = ['admiring', 'agitated', 'amazing', 'bold', 'brave', 'busy',
  'clever', 'cool', 'dazzling', 'eager', 'elastic', 'epic', 'festive',
  'focused', 'friendly', 'gifted', 'happy', 'hungry', 'jolly', 'keen',
  'laughing', 'loving', 'modest', 'nifty', 'optimistic', 'peaceful',
  'quirky', 'relaxed', 'serene', 'sharp', 'stoic', 'sweet', 'tender',
  'trusting', 'vibrant', 'wizardly', 'youthful', 'zealous'];
const RIGHT = ['albattani', 'bell', 'curie', 'darwin', 'dijkstra',
  'einstein', 'euclid', 'fermat', 'goldberg', 'hamilton', 'hopper',
  'kalam', 'knuth', 'lamport', 'lovelace', 'mccarthy', 'meitner',
  'napier', 'noether', 'pascal', 'ritchie', 'shannon', 'thompson',
  'torvalds', 'turing', 'wozniak', 'yalow'];

export function randomName(): string {
  return `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
}
