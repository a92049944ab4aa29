/* Hostile guest: spins forever with interrupts off; only the host can stop it. */
#include "hostile.h"

int main(void)
{
	printf("spin: looping with interrupts disabled\n");
	__asm__ volatile("cli; 1: jmp 1b");
	return 1;
}
