// i386 system calls from a 64-bit program, for the tests: `int $0x80`
// enters the kernel's 32-bit ABI (AUDIT_ARCH_I386, i386 numbers) on an
// x86_64 kernel with IA32 emulation (without, it faults). Prints each
// call's raw return value: a result, or -errno.
//
//   int80 20 288     getpid, keyctl
#include <stdio.h>
#include <stdlib.h>

static long int80(long nr, long a, long b)
{
	long ret;
	__asm__ volatile ("int $0x80"
			  : "=a"(ret) : "a"(nr), "b"(a), "c"(b)
			  : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		printf("%ld\n", int80(strtol(argv[i], NULL, 0), 0, 0));
	return 0;
}
