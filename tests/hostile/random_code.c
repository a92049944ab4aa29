/*
 * Hostile guest: random registers, a garbage IDT, then a jump into random
 * bytes.  Whatever those bytes do, bt86 must end cleanly: triple fault,
 * halt, an exit-port write, or (for an endless loop) a timeout - never a
 * crash or a VMM error.
 */
#include "desc.h"
#include "hostile.h"

static uint8_t code[8192] __attribute__((aligned(4096)));

int main(void)
{
	uint32_t s = hostile_seed(), r[7];
	uint8_t *p = (uint8_t *)idt;

	printf("random_code: seed %u\n", (unsigned)s);
	for (unsigned i = 0; i < sizeof(code); i++)
		code[i] = (uint8_t)hostile_rand(&s);
	for (unsigned i = 0; i < sizeof(idt); i++)
		p[i] = (uint8_t)hostile_rand(&s);
	for (int i = 0; i < 7; i++)
		r[i] = hostile_rand(&s);
	__asm__ volatile(
		"mov 0(%0), %%eax\n\t"
		"mov 4(%0), %%ebx\n\t"
		"mov 8(%0), %%ecx\n\t"
		"mov 12(%0), %%edx\n\t"
		"mov 16(%0), %%esi\n\t"
		"mov 20(%0), %%edi\n\t"
		"mov 24(%0), %%ebp\n\t"
		"jmp *%1\n\t"
		: : "r"(r), "r"(code) : "memory");
	return 1;
}
