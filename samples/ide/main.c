/*
 * ATA/IDE from the guest's side: IDENTIFY, sector writes and reads with
 * rep outsw/insw (one string I/O exit per sector), READ/WRITE MULTIPLE, and
 * FLUSH CACHE.  Run with a raw disk image on the primary master whose first
 * sector starts with "bt86-disk" (tests/suite-disk.sh makes one); the script
 * then checks on the host that the sectors written here reached the file.
 */
#include "io.h"
#include "rt.h"

#define ATA_DATA	0x1f0
#define ATA_COUNT	0x1f2
#define ATA_LBA0	0x1f3
#define ATA_LBA1	0x1f4
#define ATA_LBA2	0x1f5
#define ATA_DEVICE	0x1f6	/* bit 6: LBA, bits 0-3: LBA 24-27 */
#define ATA_STATUS	0x1f7	/* read */
#define ATA_CMD		0x1f7	/* write */
#define ATA_SR_BSY	0x80
#define ATA_SR_DRQ	0x08
#define ATA_SR_ERR	0x01
#define CMD_READ	0x20
#define CMD_WRITE	0x30
#define CMD_READ_MULT	0xc4
#define CMD_WRITE_MULT	0xc5
#define CMD_SET_MULT	0xc6
#define CMD_FLUSH	0xe7
#define CMD_IDENTIFY	0xec

static uint16_t buf[256 * 4];

static uint8_t wait_ready(void)
{
	uint8_t st = 0;

	for (int i = 0; i < 1000000; i++) {
		st = inb(ATA_STATUS);
		if (!(st & ATA_SR_BSY))
			break;
	}
	return st;
}

static void command(uint8_t cmd, uint32_t lba, uint8_t count)
{
	wait_ready();
	outb(ATA_DEVICE, (uint8_t)(0xe0 | ((lba >> 24) & 0x0f)));
	outb(ATA_COUNT, count);
	outb(ATA_LBA0, (uint8_t)lba);
	outb(ATA_LBA1, (uint8_t)(lba >> 8));
	outb(ATA_LBA2, (uint8_t)(lba >> 16));
	outb(ATA_CMD, cmd);
}

static void insw(uint16_t *p, uint32_t n)
{
	asm volatile("rep insw" : "+D"(p), "+c"(n) : "d"(ATA_DATA) : "memory");
}

static void outsw(const uint16_t *p, uint32_t n)
{
	asm volatile("rep outsw" : "+S"(p), "+c"(n) : "d"(ATA_DATA) : "memory");
}

static bool pattern_ok(uint32_t lba, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors * 256; i++)
		if (buf[i] != (uint16_t)(lba * 1000 + i))
			return false;
	return true;
}

static void fill(uint32_t lba, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors * 256; i++)
		buf[i] = (uint16_t)(lba * 1000 + i);
}

int main(void)
{
	uint8_t st;
	uint32_t sectors;
	const char *sig;

	command(CMD_IDENTIFY, 0, 0);
	st = wait_ready();
	report(st & ATA_SR_DRQ, "IDENTIFY: data ready");
	insw(buf, 256);
	sectors = buf[60] | (uint32_t)buf[61] << 16;
	reportf(sectors == 2048, "IDENTIFY: LBA28 capacity %u sectors (a 1 MiB image)",
		(unsigned)sectors);
	reportf(buf[49] & (1u << 9), "IDENTIFY: LBA supported (word 49 = 0x%04x)", buf[49]);

	command(CMD_READ, 0, 1);
	st = wait_ready();
	insw(buf, 256);
	sig = (const char *)buf;
	report(!(st & ATA_SR_ERR) && !strncmp(sig, "bt86-disk", 9),
	       "READ SECTORS: LBA 0 holds the host's signature");

	fill(5, 1);
	command(CMD_WRITE, 5, 1);
	st = wait_ready();
	outsw(buf, 256);
	st = wait_ready();
	report(!(st & ATA_SR_ERR), "WRITE SECTORS: LBA 5 written");
	memset(buf, 0, sizeof(buf));
	command(CMD_READ, 5, 1);
	wait_ready();
	insw(buf, 256);
	report(pattern_ok(5, 1), "READ SECTORS: LBA 5 reads back what was written");

	command(CMD_SET_MULT, 0, 4);
	st = wait_ready();
	report(!(st & ATA_SR_ERR), "SET MULTIPLE MODE 4");
	fill(100, 4);
	command(CMD_WRITE_MULT, 100, 4);
	wait_ready();
	outsw(buf, 4 * 256);
	st = wait_ready();
	report(!(st & ATA_SR_ERR), "WRITE MULTIPLE: 4 sectors at LBA 100 in one block");
	memset(buf, 0, sizeof(buf));
	command(CMD_READ_MULT, 100, 4);
	wait_ready();
	insw(buf, 4 * 256);
	report(pattern_ok(100, 4), "READ MULTIPLE: the 4 sectors read back");

	command(CMD_READ, 4000, 1);
	st = wait_ready();
	report(st & ATA_SR_ERR, "READ past the end of the disk reports an error");

	command(CMD_FLUSH, 0, 0);
	st = wait_ready();
	report(!(st & ATA_SR_ERR), "FLUSH CACHE");
	return 0;
}
