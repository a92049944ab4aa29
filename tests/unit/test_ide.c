/* Unit tests for the ATA/IDE primary channel through the port-I/O dispatcher. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "vmm/hw/ide.h"
#include "vmm/io.h"


#define NSECT_IMG 300

struct rec {
	int level;
	int rises;
};

static void rec_set(void *opaque, int irq, int level)
{
	struct rec *r = opaque;

	if (irq != IDE_IRQ)
		return;
	if (level && !r->level)
		r->rises++;
	r->level = level;
}

static struct rec rec;
static struct irq_line line = { rec_set, &rec };
static struct io_bus bus;
static struct ide ide;
static bool ide_live;
static char img[64], img2[64];
static uint8_t sect[IDE_SECTOR * 16];

static uint8_t inb(unsigned reg)
{
	return (uint8_t)io_in(&bus, IDE_CMD_BASE + reg, 1);
}

static void outb(unsigned reg, uint8_t v)
{
	io_out(&bus, IDE_CMD_BASE + reg, 1, v);
}

static uint8_t altstatus(void)
{
	return (uint8_t)io_in(&bus, IDE_CTL_PORT, 1);
}

static void devctl(uint8_t v)
{
	io_out(&bus, IDE_CTL_PORT, 1, v);
}

static void make_image(const char *path, size_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	uint8_t *p = malloc(bytes);

	for (size_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)((i / IDE_SECTOR) * 7 + i);
	CHECK(fd >= 0 && write(fd, p, bytes) == (ssize_t)bytes, "create image %s", path);
	close(fd);
	free(p);
}

static uint8_t pattern(uint32_t lba, unsigned off)
{
	return (uint8_t)(lba * 7 + lba * IDE_SECTOR + off);
}

static void setup(bool master)
{
	memset(&rec, 0, sizeof(rec));
	io_bus_destroy(&bus);
	io_bus_init(&bus, "port", true);
	if (ide_live)
		ide_destroy(&ide);
	ide_live = true;
	ide_init(&ide, &line);
	if (master)
		CHECK(ide_attach(&ide, 0, img) == 0, "attach master");
	CHECK(ide_register(&ide, &bus) == 0, "register");
}

static void taskfile(uint32_t lba, uint8_t count, uint8_t cmd)
{
	outb(IDE_REG_DEVICE, IDE_DEV_OBS | IDE_DEV_LBA | ((lba >> 24) & 0xf));
	outb(IDE_REG_NSECT, count);
	outb(IDE_REG_LBAL, lba & 0xff);
	outb(IDE_REG_LBAM, (lba >> 8) & 0xff);
	outb(IDE_REG_LBAH, (lba >> 16) & 0xff);
	outb(IDE_REG_COMMAND, cmd);
}

/* Expect an error from a child that has dropped root, since root ignores file modes. */
static void check_readonly(void)
{
	int p[2], st;
	char msg[512] = "";
	pid_t pid;
	ssize_t n;

	make_image(img2, 4096);
	chmod(img2, 0444);
	CHECK(pipe(p) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		struct ide t;

		dup2(p[1], 2);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		ide_init(&t, NULL);
		_exit(ide_attach(&t, 0, img2) == -1 ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "read-only image refused (status %d)", st);
	CHECK(strstr(msg, "read-only") && strstr(msg, img2), "message names it: %s", msg);
	unlink(img2);
}

static void test_attach_errors(void)
{
	struct ide t;
	int fd;

	ide_init(&t, NULL);
	CHECK(ide_attach(&t, 0, "/tmp/bt86-no-such-image") == -1, "missing file");
	CHECK(ide_attach(&t, 0, "/tmp") == -1, "directory is not a regular file");
	CHECK(ide_attach(&t, 2, img) == -1, "unit 2 does not exist");
	make_image(img2, 0);
	CHECK(ide_attach(&t, 0, img2) == -1, "empty image");
	make_image(img2, 100);
	CHECK(ide_attach(&t, 0, img2) == -1, "image smaller than a sector");
	fd = open(img2, O_RDWR | O_TRUNC);
	if (ftruncate(fd, (off_t)(IDE_LBA28_MAX + 1) * IDE_SECTOR) == 0)
		CHECK(ide_attach(&t, 0, img2) == -1, "image too large for LBA28");
	close(fd);
	make_image(img2, 10 * IDE_SECTOR + 100);
	CHECK(ide_attach(&t, 1, img2) == 0, "odd size attached with a warning");
	CHECK_EQ(t.unit[1].sectors, 10, "rounded down to whole sectors");
	CHECK(ide_attach(&t, 1, img2) == -1, "unit already attached");
	ide_destroy(&t);
	CHECK_EQ(t.unit[1].fd, -1, "destroy closes");
	unlink(img2);
	check_readonly();
}

static void test_empty_channel(void)
{
	setup(false);
	CHECK_EQ(inb(IDE_REG_STATUS), 0xff, "no devices: floating bus");
	CHECK_EQ(altstatus(), 0xff, "alt status floating");
	CHECK_EQ(io_in(&bus, IDE_CMD_BASE, 2), 0xffff, "data floating");
}

static void test_select_and_registers(void)
{
	setup(true);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "master DRDY|DSC");
	outb(IDE_REG_NSECT, 0x55);
	outb(IDE_REG_LBAL, 0xaa);
	outb(IDE_REG_LBAM, 0x12);
	outb(IDE_REG_LBAH, 0x34);
	outb(IDE_REG_FEATURE, 0x99);
	CHECK_EQ(inb(IDE_REG_NSECT), 0x55, "sector count register");
	CHECK_EQ(inb(IDE_REG_LBAL), 0xaa, "LBA low register");
	CHECK_EQ(inb(IDE_REG_LBAM), 0x12, "LBA mid register");
	CHECK_EQ(inb(IDE_REG_LBAH), 0x34, "LBA high register");
	CHECK_EQ(inb(IDE_REG_ERROR), 0x01, "error register: diagnostic code after power-on");
	outb(IDE_REG_DEVICE, 0xb0);
	CHECK_EQ(inb(IDE_REG_DEVICE), 0xb0, "device register");
	CHECK_EQ(inb(IDE_REG_STATUS), 0, "missing slave reads status 0");
	CHECK_EQ(altstatus(), 0, "and alt status 0");
	outb(IDE_REG_COMMAND, ATA_CMD_IDENTIFY);
	CHECK_EQ(rec.rises, 0, "missing slave ignores commands");
	CHECK_EQ(inb(IDE_REG_STATUS), 0, "still 0");
	outb(IDE_REG_DEVICE, 0xa0);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "master again");
	CHECK_EQ(io_in(&bus, IDE_CMD_BASE + 2, 2), 0xaa55, "16-bit access to 0x1f2 splits");
}

static void test_identify(void)
{
	uint16_t w[256];
	uint32_t dw[128];
	uint8_t sum = 0;
	char model[41];

	setup(true);
	outb(IDE_REG_DEVICE, 0xa0);
	outb(IDE_REG_COMMAND, ATA_CMD_IDENTIFY);
	CHECK_EQ(rec.level, 1, "IRQ14 when IDENTIFY data is ready");
	CHECK_EQ(altstatus(), 0x58, "alt status DRDY|DSC|DRQ");
	CHECK_EQ(rec.level, 1, "alt status does not ack");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x58, "status DRQ");
	CHECK_EQ(rec.level, 0, "status read acks IRQ14");
	for (int i = 0; i < 256; i++)
		w[i] = (uint16_t)io_in(&bus, IDE_CMD_BASE, 2);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "DRQ clear after 256 words");
	CHECK_EQ(rec.rises, 1, "no interrupt after the last PIO-in word");
	CHECK_EQ(w[0], 0x0040, "word 0: fixed ATA device");
	CHECK_EQ(w[1], 1, "word 1: cylinders for a small disk");
	CHECK_EQ(w[3], 16, "word 3: heads");
	CHECK_EQ(w[6], 63, "word 6: sectors per track");
	CHECK_EQ(w[47], 0x8000 | IDE_MAX_MULT, "word 47: max multiple");
	CHECK_EQ(w[49] & 0x0300, 0x0200, "word 49: LBA, no DMA");
	CHECK_EQ(w[53], 3, "word 53: 54-58, 64-70 valid");
	CHECK_EQ(w[59], 0, "word 59: multiple off");
	CHECK_EQ(w[60] | (uint32_t)w[61] << 16, NSECT_IMG, "words 60-61: LBA28 capacity");
	CHECK_EQ(w[80], 0x7e, "word 80: ATA-1..6");
	CHECK_EQ(w[83] & 0x1000, 0x1000, "word 83: FLUSH CACHE");
	CHECK_EQ(w[85] & 0x20, 0x20, "word 85: write cache enabled");
	for (int i = 0; i < 20; i++) {
		model[2 * i] = (char)(w[27 + i] >> 8);
		model[2 * i + 1] = (char)(w[27 + i] & 0xff);
	}
	model[40] = 0;
	CHECK(!strncmp(model, "BT86 HARDDISK   ", 16), "model string: '%s'", model);
	CHECK((w[10] >> 8) == 'B' && (w[10] & 0xff) == 'T', "serial string byte order");
	for (int i = 0; i < 256; i++)
		sum += (uint8_t)(w[i] + (w[i] >> 8));
	CHECK_EQ(w[255] & 0xff, 0xa5, "integrity signature");
	CHECK_EQ(sum, 0, "integrity checksum");

	outb(IDE_REG_NSECT, 8);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_MULTI);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "SET MULTIPLE 8 ok");
	outb(IDE_REG_COMMAND, ATA_CMD_IDENTIFY);
	for (int i = 0; i < 128; i++)
		dw[i] = io_in(&bus, IDE_CMD_BASE, 4);
	CHECK_EQ(dw[59 / 2] >> 16, 0x0108, "word 59 after SET MULTIPLE, via 32-bit reads");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "128 dwords finish the block");
}

static void test_write_read(void)
{
	uint8_t buf[IDE_SECTOR * 2];
	int fd;
	bool ok = true;

	setup(true);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0xa5 ^ i ^ (i >> 8));
	taskfile(5, 2, ATA_CMD_WRITE);
	CHECK_EQ(rec.rises, 0, "no IRQ before the first write block");
	CHECK_EQ(altstatus(), 0x58, "DRQ for data");
	for (unsigned i = 0; i < IDE_SECTOR; i += 2)
		io_out(&bus, IDE_CMD_BASE, 2, buf[i] | buf[i + 1] << 8);
	CHECK_EQ(rec.rises, 1, "IRQ after the first sector");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x58, "DRQ for the second sector");
	CHECK_EQ(inb(IDE_REG_LBAL), 6, "taskfile tracks the sector");
	for (unsigned i = IDE_SECTOR; i < 2 * IDE_SECTOR; i += 4)
		io_out(&bus, IDE_CMD_BASE, 4,
		       buf[i] | buf[i + 1] << 8 | buf[i + 2] << 16 | (uint32_t)buf[i + 3] << 24);
	CHECK_EQ(rec.rises, 2, "IRQ at completion");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "write done");
	CHECK_EQ(inb(IDE_REG_LBAL), 6, "LBA of the last sector");
	CHECK_EQ(inb(IDE_REG_NSECT), 0, "count ran down");
	CHECK_EQ(ide.unit[0].sectors_written, 2, "2 sectors written");

	fd = open(img, O_RDONLY);
	memset(sect, 0, sizeof(sect));
	CHECK(pread(fd, sect, 2 * IDE_SECTOR, 5 * IDE_SECTOR) == 2 * IDE_SECTOR, "pread");
	CHECK(!memcmp(sect, buf, sizeof(buf)), "data reached the image file");
	CHECK(pread(fd, sect, 1, 7 * IDE_SECTOR) == 1 && sect[0] == pattern(7, 0),
	      "next sector untouched");
	close(fd);

	taskfile(4, 3, ATA_CMD_READ);
	CHECK_EQ(rec.rises, 3, "IRQ for the first read sector");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x58, "DRQ");
	for (unsigned i = 0; i < IDE_SECTOR; i += 2) {
		uint32_t v = io_in(&bus, IDE_CMD_BASE, 2);

		ok &= (v & 0xff) == pattern(4, i) && (v >> 8) == pattern(4, i + 1);
	}
	CHECK(ok, "sector 4 read back");
	CHECK_EQ(rec.rises, 4, "IRQ for the second sector");
	inb(IDE_REG_STATUS);
	for (unsigned i = 0; i < 2 * IDE_SECTOR; i += 4) {
		uint32_t v = io_in(&bus, IDE_CMD_BASE, 4);

		memcpy(sect + i, &v, 4);
	}
	CHECK(!memcmp(sect, buf, sizeof(buf)), "sectors 5-6 read back with 32-bit accesses");
	CHECK_EQ(rec.rises, 5, "one IRQ per sector, none after the last");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "read done");
	ide_destroy(&ide);
}

static void test_multiple(void)
{
	int fd;
	bool ok = true;

	setup(true);
	taskfile(0, 4, ATA_CMD_READ_MULTI);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "READ MULTIPLE without SET MULTIPLE: ERR");
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_ABRT, "ABRT");
	outb(IDE_REG_NSECT, 3);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_MULTI);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "SET MULTIPLE 3 rejected");
	outb(IDE_REG_NSECT, 32);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_MULTI);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "SET MULTIPLE above the maximum rejected");
	outb(IDE_REG_NSECT, 4);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_MULTI);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "SET MULTIPLE 4");
	rec.rises = 0;

	taskfile(20, 6, ATA_CMD_WRITE_MULTI);
	CHECK_EQ(rec.rises, 0, "no IRQ before the first block");
	for (unsigned i = 0; i < 4 * IDE_SECTOR; i += 2)
		io_out(&bus, IDE_CMD_BASE, 2, 0x6b6b);
	CHECK_EQ(rec.rises, 1, "one IRQ per 4-sector block");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x58, "DRQ for the 2-sector tail");
	for (unsigned i = 0; i < 2 * IDE_SECTOR; i += 2)
		io_out(&bus, IDE_CMD_BASE, 2, 0x6b6b);
	CHECK_EQ(rec.rises, 2, "IRQ at completion");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "done");
	fd = open(img, O_RDONLY);
	CHECK(pread(fd, sect, 7 * IDE_SECTOR, 19 * IDE_SECTOR) == 7 * IDE_SECTOR, "pread");
	close(fd);
	for (unsigned i = IDE_SECTOR; i < 7 * IDE_SECTOR; i++)
		ok &= sect[i] == 0x6b;
	CHECK(ok, "6 sectors written by WRITE MULTIPLE");
	CHECK(sect[0] == pattern(19, 0), "sector before untouched");

	taskfile(19, 5, ATA_CMD_READ_MULTI);
	CHECK_EQ(rec.rises, 3, "IRQ for the first block");
	inb(IDE_REG_STATUS);
	for (unsigned i = 0; i < 4 * IDE_SECTOR; i += 2)
		io_in(&bus, IDE_CMD_BASE, 2);
	CHECK_EQ(rec.rises, 4, "IRQ for the second block");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x58, "DRQ");
	for (unsigned i = 0; i < IDE_SECTOR; i += 2)
		CHECK_EQ(io_in(&bus, IDE_CMD_BASE, 2), 0x6b6b, "READ MULTIPLE tail data");
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "READ MULTIPLE done");
}

static void test_errors(void)
{
	setup(true);
	taskfile(NSECT_IMG, 1, ATA_CMD_READ);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "read past the end: ERR");
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_IDNF, "IDNF");
	CHECK_EQ(rec.rises, 1, "error raises IRQ");
	taskfile(NSECT_IMG - 1, 2, ATA_CMD_WRITE);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x58, "write crossing the end: last sector accepted");
	for (unsigned i = 0; i < IDE_SECTOR; i += 2)
		io_out(&bus, IDE_CMD_BASE, 2, 0);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "then ERR at the sector past the end");
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_IDNF, "IDNF");
	CHECK_EQ(inb(IDE_REG_LBAL) | inb(IDE_REG_LBAM) << 8, NSECT_IMG, "taskfile names the sector");
	CHECK_EQ(rec.rises, 2, "one IRQ, reporting the error");
	taskfile(NSECT_IMG - 1, 2, ATA_CMD_VERIFY);
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_IDNF, "verify past the end: IDNF");
	taskfile(0, 0, ATA_CMD_VERIFY);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "verify 256 sectors ok");
	taskfile(0, 1, 0x77 + 0x80);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "unknown command: ERR");
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_ABRT, "ABRT");
	taskfile(0, 1, ATA_CMD_ID_PACKET);
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_ABRT, "IDENTIFY PACKET aborted by a disk");
	CHECK_EQ(inb(IDE_REG_LBAM) | inb(IDE_REG_LBAH) << 8, 0, "ATA signature kept");
	taskfile(0, 1, ATA_CMD_READ_MULTI + 0x04);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "READ DMA (0xc8) aborted");
	outb(IDE_REG_FEATURE, ATA_FEAT_XFER_MODE);
	outb(IDE_REG_NSECT, 0x0c);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_FEATURES);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "SET FEATURES PIO 4 ok");
	outb(IDE_REG_NSECT, 0x45);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_FEATURES);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "UDMA mode aborted");
	outb(IDE_REG_FEATURE, ATA_FEAT_WCACHE_OFF);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_FEATURES);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "write cache off");
	CHECK(!ide.unit[0].wcache, "wcache flag");
	outb(IDE_REG_FEATURE, 0x55);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_FEATURES);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x51, "unknown feature aborted");
	outb(IDE_REG_COMMAND, ATA_CMD_FLUSH);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "FLUSH CACHE ok");
	outb(IDE_REG_COMMAND, ATA_CMD_CHECK_POWER);
	CHECK_EQ(inb(IDE_REG_NSECT), 0xff, "CHECK POWER MODE: active");
	outb(IDE_REG_COMMAND, ATA_CMD_SEEK);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "SEEK ok");
	outb(IDE_REG_COMMAND, ATA_CMD_RECALIBRATE);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "RECALIBRATE ok");
	outb(IDE_REG_COMMAND, ATA_CMD_IDLE_NOW);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "IDLE IMMEDIATE ok");
	outb(IDE_REG_COMMAND, ATA_CMD_DIAGNOSE);
	CHECK_EQ(inb(IDE_REG_ERROR), 0x01, "EXECUTE DEVICE DIAGNOSTIC code 01");
	CHECK_EQ(inb(IDE_REG_NSECT), 1, "diagnostic signature");
}

static void test_count_zero(void)
{
	int blocks = 0;

	setup(true);
	taskfile(10, 0, ATA_CMD_READ);
	while (inb(IDE_REG_STATUS) & IDE_STAT_DRQ) {
		blocks++;
		for (unsigned i = 0; i < IDE_SECTOR; i += 4)
			io_in(&bus, IDE_CMD_BASE, 4);
	}
	CHECK_EQ(blocks, 256, "sector count 0 reads 256 sectors");
	CHECK_EQ(rec.rises, 256, "256 interrupts");
	CHECK_EQ(inb(IDE_REG_LBAL) | inb(IDE_REG_LBAM) << 8, 10 + 255, "last sector in the taskfile");
}

static void test_chs(void)
{
	bool ok = true;

	setup(true);
	outb(IDE_REG_DEVICE, 0xa0 | 3);	/* 4 heads */
	outb(IDE_REG_NSECT, 17);
	outb(IDE_REG_COMMAND, ATA_CMD_INIT_PARAMS);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "INITIALIZE DEVICE PARAMETERS accepted");
	/* C/H/S 2/1/3 with 4 heads, 17 spt is LBA (2*4+1)*17+2 = 155. */
	outb(IDE_REG_DEVICE, 0xa0 | 1);
	outb(IDE_REG_NSECT, 1);
	outb(IDE_REG_LBAL, 3);
	outb(IDE_REG_LBAM, 2);
	outb(IDE_REG_LBAH, 0);
	outb(IDE_REG_COMMAND, ATA_CMD_READ);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x58, "CHS read ready");
	for (unsigned i = 0; i < IDE_SECTOR; i += 2) {
		uint32_t v = io_in(&bus, IDE_CMD_BASE, 2);

		ok &= (v & 0xff) == pattern(155, i);
	}
	CHECK(ok, "CHS 2/1/3 is LBA 155");
	outb(IDE_REG_LBAL, 0);
	outb(IDE_REG_COMMAND, ATA_CMD_READ);
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_IDNF, "sector 0 does not exist in CHS");
	outb(IDE_REG_NSECT, 0);
	outb(IDE_REG_COMMAND, ATA_CMD_INIT_PARAMS);
	CHECK_EQ(inb(IDE_REG_ERROR), IDE_ERR_ABRT, "0 sectors per track rejected");
}

static void test_nien_and_reset(void)
{
	setup(true);
	devctl(IDE_CTL_NIEN);
	outb(IDE_REG_COMMAND, ATA_CMD_IDENTIFY);
	CHECK_EQ(rec.level, 0, "nIEN suppresses IRQ14");
	CHECK_EQ(altstatus(), 0x58, "command still ran");
	devctl(0);
	CHECK_EQ(rec.level, 1, "clearing nIEN lets the pending IRQ through");
	inb(IDE_REG_STATUS);
	CHECK_EQ(rec.level, 0, "acked");

	outb(IDE_REG_NSECT, 0x33);
	outb(IDE_REG_LBAM, 0x44);
	outb(IDE_REG_COMMAND, ATA_CMD_IDENTIFY);
	devctl(IDE_CTL_SRST);
	CHECK_EQ(altstatus(), IDE_STAT_BSY, "BSY while SRST is held");
	CHECK_EQ(rec.level, 0, "reset drops INTRQ");
	outb(IDE_REG_LBAL, 0x77);
	devctl(0);
	CHECK_EQ(inb(IDE_REG_STATUS), 0x50, "ready after reset");
	CHECK_EQ(rec.rises, 2, "no interrupt for the reset");
	CHECK_EQ(inb(IDE_REG_NSECT), 1, "signature: count 1");
	CHECK_EQ(inb(IDE_REG_LBAL), 1, "signature: LBA low 1 (write during reset ignored)");
	CHECK_EQ(inb(IDE_REG_LBAM), 0, "signature: LBA mid 0");
	CHECK_EQ(inb(IDE_REG_LBAH), 0, "signature: LBA high 0 (ATA, not ATAPI)");
	CHECK_EQ(inb(IDE_REG_DEVICE), 0, "device 0 selected");
	CHECK_EQ(inb(IDE_REG_ERROR), 0x01, "diagnostic code");
	CHECK_EQ(io_in(&bus, IDE_CMD_BASE, 2), 0, "reset aborted the IDENTIFY transfer");

	outb(IDE_REG_NSECT, 4);
	outb(IDE_REG_COMMAND, ATA_CMD_SET_MULTI);
	devctl(IDE_CTL_NIEN);
	outb(IDE_REG_COMMAND, ATA_CMD_IDENTIFY);
	ide_reset(&ide);
	CHECK_EQ(ide.unit[0].mult, 0, "hardware reset turns multiple mode off");
	CHECK_EQ(altstatus(), 0x50, "hardware reset: ready, no DRQ");
	CHECK_EQ(inb(IDE_REG_LBAL), 1, "hardware reset: signature");
	CHECK_EQ(ide.control, 0, "hardware reset clears nIEN");
	CHECK(ide.unit[0].fd >= 0, "image stays attached");
}

int main(void)
{
	snprintf(img, sizeof(img), "/tmp/bt86-test-ide-%d.img", (int)getpid());
	snprintf(img2, sizeof(img2), "/tmp/bt86-test-ide-%d-b.img", (int)getpid());
	make_image(img, NSECT_IMG * IDE_SECTOR);

	test_attach_errors();
	test_empty_channel();
	test_select_and_registers();
	test_identify();
	test_write_read();
	test_multiple();
	test_errors();
	test_count_zero();
	test_chs();
	test_nien_and_reset();

	ide_destroy(&ide);
	io_bus_destroy(&bus);
	unlink(img);
	unlink(img2);
	return check_done();
}
