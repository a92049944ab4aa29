/* Hostile guest: overwrites its IDT with garbage and faults; must end in a triple fault. */
#include "desc.h"
#include "hostile.h"

int main(void)
{
	uint32_t s = hostile_seed();
	uint8_t *p = (uint8_t *)idt;

	printf("garbage_idt: seed %u\n", (unsigned)s);
	for (unsigned i = 0; i < sizeof(idt); i++)
		p[i] = (uint8_t)hostile_rand(&s);
	__asm__ volatile("ud2");
	printf("garbage_idt: survived ud2?\n");
	return 1;
}
