/* Benchmark kernel: table-driven CRC-32 (IEEE) over a pseudo-random buffer, repeated. */
#include "bench.h"

#define CRC_BUF		(64u << 10)	/* 64 KiB: stays in L2 */
#define CRC_REPS	6000

const char bench_name[] = "crc32";

static uint32_t table[256];
static uint8_t buf[CRC_BUF];

uint32_t bench_run(void)
{
	uint32_t seed = 0x12345678, crc = 0xffffffffu;
	unsigned i, k, rep;

	/* Build the table bit by bit: part of the work, and no constant data to get wrong. */
	for (i = 0; i < 256; i++) {
		uint32_t c = i;

		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
		table[i] = c;
	}
	for (i = 0; i < CRC_BUF; i++)
		buf[i] = (uint8_t)bench_xorshift32(&seed);

	/* The CRC runs on across passes, so every pass depends on the previous one. */
	for (rep = 0; rep < CRC_REPS; rep++) {
		for (i = 0; i < CRC_BUF; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
		buf[rep % CRC_BUF] ^= (uint8_t)crc;
	}
	return ~crc;
}
