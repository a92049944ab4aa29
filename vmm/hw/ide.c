/* ATA/IDE primary channel: PIO READ/WRITE (MULTIPLE), IDENTIFY, soft reset, IRQ14. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/hw/ide.h"
#include "vmm/log.h"

/*
 * Every command completes inside the port write that issues it, so BSY is
 * only ever seen while SRST is held.  Data moves one DRQ block at a time
 * through the unit's buffer: pread when a read block becomes ready, pwrite
 * when the guest has filled a write block.  The write cache is advertised
 * (and on by default) so guests send FLUSH CACHE, which is where fdatasync
 * makes their writes durable; with the cache turned off every write
 * command is synced before it completes.
 */

static struct ide_unit *cur_unit(struct ide *d)
{
	return &d->unit[(d->device & IDE_DEV_DEV) ? 1 : 0];
}

static bool present(const struct ide_unit *u)
{
	return u->fd >= 0;
}

static bool channel_empty(const struct ide *d)
{
	return !present(&d->unit[0]) && !present(&d->unit[1]);
}

/* INTRQ is released (high impedance) while nIEN is set; the PIC is edge triggered. */
static void update_irq(struct ide *d)
{
	int level = d->irq_pending && !(d->control & IDE_CTL_NIEN);

	if (level == d->irq_level)
		return;
	d->irq_level = level;
	irq_set(d->irq, IDE_IRQ, level);
}

static void raise_irq(struct ide *d)
{
	d->irq_pending = true;
}

static void complete(struct ide *d, struct ide_unit *u)
{
	u->status = IDE_STAT_DRDY | IDE_STAT_DSC;
	u->error = 0;
	u->xfer = IDE_XFER_NONE;
	raise_irq(d);
}

static void abort_cmd(struct ide *d, struct ide_unit *u, uint8_t err)
{
	u->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_ERR;
	u->error = err;
	u->xfer = IDE_XFER_NONE;
	raise_irq(d);
}

static void set_signature(struct ide *d)
{
	d->nsect = 1;
	d->lbal = 1;
	d->lbam = 0;
	d->lbah = 0;
	d->device = 0;
}

/* The sector the taskfile addresses, in LBA or CHS form; false if it cannot exist. */
static bool taskfile_lba(const struct ide *d, const struct ide_unit *u, uint32_t *lba)
{
	uint32_t cyl, head, sec;

	if (d->device & IDE_DEV_LBA) {
		*lba = (uint32_t)(d->device & IDE_DEV_HEAD) << 24 | (uint32_t)d->lbah << 16 |
		       (uint32_t)d->lbam << 8 | d->lbal;
		return true;
	}
	cyl = (uint32_t)d->lbah << 8 | d->lbam;
	head = d->device & IDE_DEV_HEAD;
	sec = d->lbal;
	if (!u->cur_heads || !u->cur_spt || !sec || sec > u->cur_spt || head >= u->cur_heads)
		return false;
	*lba = (cyl * u->cur_heads + head) * u->cur_spt + sec - 1;
	return true;
}

static void set_taskfile_lba(struct ide *d, const struct ide_unit *u, uint32_t lba)
{
	uint32_t cyl, rest;

	if (d->device & IDE_DEV_LBA) {
		d->lbal = lba & 0xff;
		d->lbam = (lba >> 8) & 0xff;
		d->lbah = (lba >> 16) & 0xff;
		d->device = (d->device & ~IDE_DEV_HEAD) | ((lba >> 24) & IDE_DEV_HEAD);
		return;
	}
	cyl = lba / ((uint32_t)u->cur_heads * u->cur_spt);
	rest = lba % ((uint32_t)u->cur_heads * u->cur_spt);
	d->lbam = cyl & 0xff;
	d->lbah = (cyl >> 8) & 0xff;
	d->device = (d->device & ~IDE_DEV_HEAD) | (rest / u->cur_spt);
	d->lbal = rest % u->cur_spt + 1;
}

/* Make the next DRQ block ready: read it in, or open the buffer for the guest. */
static void start_block(struct ide *d, struct ide_unit *u, bool irq)
{
	unsigned per = (u->cmd == ATA_CMD_READ_MULTI || u->cmd == ATA_CMD_WRITE_MULTI) ?
			       u->mult : 1;
	ssize_t n;

	u->block = u->remaining < per ? u->remaining : per;
	/* The taskfile tracks the transfer, so an error reports the failing sector. */
	set_taskfile_lba(d, u, u->lba);
	if ((uint64_t)u->lba + u->block > u->sectors) {
		abort_cmd(d, u, IDE_ERR_IDNF);
		return;
	}
	u->pos = 0;
	u->len = u->block * IDE_SECTOR;
	if (u->xfer == IDE_XFER_IN) {
		n = pread(u->fd, u->buf, u->len, (off_t)u->lba * IDE_SECTOR);
		if (n != (ssize_t)u->len) {
			bt86_error("disk %s: read of sector %u failed: %s", u->path, u->lba,
				   n < 0 ? strerror(errno) : "short read");
			abort_cmd(d, u, IDE_ERR_UNC);
			return;
		}
		u->sectors_read += u->block;
	}
	u->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
	if (irq)
		raise_irq(d);
}

/* The guest has moved the whole block: write it out and go on or finish. */
static void finish_block(struct ide *d, struct ide_unit *u)
{
	ssize_t n;

	if (u->cmd == ATA_CMD_IDENTIFY) {
		u->status = IDE_STAT_DRDY | IDE_STAT_DSC;
		u->xfer = IDE_XFER_NONE;
		return;
	}
	if (u->xfer == IDE_XFER_OUT) {
		n = pwrite(u->fd, u->buf, u->len, (off_t)u->lba * IDE_SECTOR);
		if (n != (ssize_t)u->len) {
			bt86_error("disk %s: write of sector %u failed: %s", u->path, u->lba,
				   n < 0 ? strerror(errno) : "short write");
			abort_cmd(d, u, IDE_ERR_ABRT);
			return;
		}
		u->sectors_written += u->block;
	}
	u->lba += u->block;
	u->remaining -= u->block;
	d->nsect = u->remaining & 0xff;
	if (u->remaining) {
		start_block(d, u, true);
		return;
	}
	set_taskfile_lba(d, u, u->lba - 1);
	if (u->xfer == IDE_XFER_OUT) {
		if (!u->wcache && fdatasync(u->fd) < 0) {
			bt86_error("disk %s: fdatasync: %s", u->path, strerror(errno));
			abort_cmd(d, u, IDE_ERR_ABRT);
			return;
		}
		complete(d, u);
		return;
	}
	/* The last block of a PIO-in command was already announced. */
	u->status = IDE_STAT_DRDY | IDE_STAT_DSC;
	u->xfer = IDE_XFER_NONE;
}

static void start_rw(struct ide *d, struct ide_unit *u, enum ide_xfer dir)
{
	uint32_t lba;

	if (!taskfile_lba(d, u, &lba)) {
		abort_cmd(d, u, IDE_ERR_IDNF);
		return;
	}
	u->lba = lba;
	u->remaining = d->nsect ? d->nsect : 256;
	u->xfer = dir;
	/* PIO out: the first block is requested without an interrupt. */
	start_block(d, u, dir == IDE_XFER_IN);
}

static void put_word(uint8_t *buf, unsigned w, uint16_t v)
{
	buf[2 * w] = v & 0xff;
	buf[2 * w + 1] = v >> 8;
}

/* ATA strings are space padded with the first character of each pair in the high byte. */
static void put_string(uint8_t *buf, unsigned w, unsigned nwords, const char *s)
{
	size_t len = strlen(s);

	for (unsigned i = 0; i < nwords * 2; i++)
		buf[2 * w + (i ^ 1)] = i < len ? (uint8_t)s[i] : ' ';
}

static void identify(struct ide *d, struct ide_unit *u, int unit)
{
	uint8_t *b = u->buf;
	uint32_t cur_cap = (uint32_t)u->cyls * u->cur_heads * u->cur_spt;
	char serial[21];
	uint8_t sum = 0;

	memset(b, 0, IDE_SECTOR);
	snprintf(serial, sizeof(serial), "BT86-%015d", unit);
	put_word(b, 0, 0x0040);			/* fixed device, ATA */
	put_word(b, 1, u->cyls);
	put_word(b, 3, u->heads);
	put_word(b, 6, u->spt);
	put_string(b, 10, 10, serial);
	put_string(b, 23, 4, "1.0");
	put_string(b, 27, 20, "BT86 HARDDISK");
	put_word(b, 47, 0x8000 | IDE_MAX_MULT);	/* max sectors per READ/WRITE MULTIPLE */
	put_word(b, 49, 0x0200);		/* LBA supported; no DMA */
	put_word(b, 50, 0x4000);
	put_word(b, 51, 0x0200);		/* PIO mode 2 timing (obsolete word) */
	put_word(b, 53, 0x0003);		/* words 54-58 and 64-70 valid */
	put_word(b, 54, u->cyls);
	put_word(b, 55, u->cur_heads);
	put_word(b, 56, u->cur_spt);
	put_word(b, 57, cur_cap & 0xffff);
	put_word(b, 58, cur_cap >> 16);
	put_word(b, 59, u->mult ? 0x0100 | u->mult : 0);
	put_word(b, 60, u->sectors & 0xffff);
	put_word(b, 61, (u->sectors >> 16) & 0x0fff);
	put_word(b, 64, 0x0003);		/* PIO modes 3 and 4 */
	put_word(b, 65, 120);
	put_word(b, 66, 120);
	put_word(b, 67, 120);
	put_word(b, 68, 120);
	put_word(b, 80, 0x007e);		/* ATA-1 to ATA-6 */
	put_word(b, 82, 0x0020);		/* write cache */
	put_word(b, 83, 0x5000);		/* FLUSH CACHE */
	put_word(b, 84, 0x4000);
	put_word(b, 85, u->wcache ? 0x0020 : 0);
	put_word(b, 86, 0x1000);
	put_word(b, 87, 0x4000);
	/* Integrity word: signature a5 and a checksum making all 512 bytes sum to 0. */
	b[510] = 0xa5;
	for (int i = 0; i < 511; i++)
		sum += b[i];
	b[511] = (uint8_t)-sum;

	u->xfer = IDE_XFER_IN;
	u->block = 1;
	u->remaining = 1;
	u->pos = 0;
	u->len = IDE_SECTOR;
	u->status = IDE_STAT_DRDY | IDE_STAT_DSC | IDE_STAT_DRQ;
	raise_irq(d);
}

static void set_features(struct ide *d, struct ide_unit *u)
{
	switch (d->feature) {
	case ATA_FEAT_WCACHE_ON:
		u->wcache = true;
		break;
	case ATA_FEAT_WCACHE_OFF:
		u->wcache = false;
		if (fdatasync(u->fd) < 0) {
			abort_cmd(d, u, IDE_ERR_ABRT);
			return;
		}
		break;
	case ATA_FEAT_XFER_MODE:
		/* Default PIO, or PIO flow-control modes 0-4; we have no DMA. */
		if (d->nsect > 1 && (d->nsect < 0x08 || d->nsect > 0x0c)) {
			abort_cmd(d, u, IDE_ERR_ABRT);
			return;
		}
		break;
	default:
		abort_cmd(d, u, IDE_ERR_ABRT);
		return;
	}
	complete(d, u);
}

static void ide_command(struct ide *d, uint8_t cmd)
{
	struct ide_unit *u = cur_unit(d);
	int unit = u == &d->unit[1];
	uint32_t lba;
	unsigned n;

	/* An absent device ignores commands, and none are taken while busy. */
	if (!present(u) || (u->status & IDE_STAT_BSY))
		return;
	/* Writing the command register clears a pending INTRQ. */
	d->irq_pending = false;
	update_irq(d);
	u->xfer = IDE_XFER_NONE;
	u->error = 0;
	u->cmd = cmd;

	switch (cmd) {
	case ATA_CMD_READ:
	case ATA_CMD_READ_NORETRY:
		start_rw(d, u, IDE_XFER_IN);
		break;
	case ATA_CMD_WRITE:
	case ATA_CMD_WRITE_NORETRY:
		start_rw(d, u, IDE_XFER_OUT);
		break;
	case ATA_CMD_READ_MULTI:
	case ATA_CMD_WRITE_MULTI:
		if (!u->mult) {
			abort_cmd(d, u, IDE_ERR_ABRT);
			break;
		}
		start_rw(d, u, cmd == ATA_CMD_READ_MULTI ? IDE_XFER_IN : IDE_XFER_OUT);
		break;
	case ATA_CMD_VERIFY:
	case ATA_CMD_VERIFY_NORETRY:
		n = d->nsect ? d->nsect : 256;
		if (!taskfile_lba(d, u, &lba) || (uint64_t)lba + n > u->sectors)
			abort_cmd(d, u, IDE_ERR_IDNF);
		else
			complete(d, u);
		break;
	case ATA_CMD_SET_MULTI:
		n = d->nsect;
		if (n > IDE_MAX_MULT || (n & (n - 1))) {
			abort_cmd(d, u, IDE_ERR_ABRT);
			break;
		}
		u->mult = (uint8_t)n;
		complete(d, u);
		break;
	case ATA_CMD_IDENTIFY:
		identify(d, u, unit);
		break;
	case ATA_CMD_FLUSH:
		if (fdatasync(u->fd) < 0) {
			bt86_error("disk %s: fdatasync: %s", u->path, strerror(errno));
			abort_cmd(d, u, IDE_ERR_ABRT);
			break;
		}
		complete(d, u);
		break;
	case ATA_CMD_INIT_PARAMS:
		if (!d->nsect) {
			abort_cmd(d, u, IDE_ERR_ABRT);
			break;
		}
		u->cur_heads = (d->device & IDE_DEV_HEAD) + 1;
		u->cur_spt = d->nsect;
		complete(d, u);
		break;
	case ATA_CMD_RECALIBRATE ... ATA_CMD_RECALIBRATE + 0x0f:
	case ATA_CMD_SEEK ... ATA_CMD_SEEK + 0x0f:
	case ATA_CMD_STANDBY_NOW:
	case ATA_CMD_IDLE_NOW:
	case ATA_CMD_STANDBY:
	case ATA_CMD_IDLE:
		complete(d, u);
		break;
	case ATA_CMD_CHECK_POWER:
		d->nsect = 0xff;	/* active or idle */
		complete(d, u);
		break;
	case ATA_CMD_DIAGNOSE:
		set_signature(d);
		complete(d, u);
		/* Diagnostic code 01: device 0 passed, device 1 passed or absent. */
		for (int i = 0; i < 2; i++) {
			d->unit[i].status = IDE_STAT_DRDY | IDE_STAT_DSC;
			d->unit[i].error = 0x01;
		}
		break;
	case ATA_CMD_SET_FEATURES:
		set_features(d, u);
		break;
	default:
		/* Includes IDENTIFY PACKET DEVICE: aborting it is how an ATA disk answers. */
		abort_cmd(d, u, IDE_ERR_ABRT);
		break;
	}
}

/* Move len bytes through the data port, any width. */
static void data_io(struct ide *d, uint8_t *data, unsigned len, bool is_write)
{
	struct ide_unit *u = cur_unit(d);
	enum ide_xfer want = is_write ? IDE_XFER_OUT : IDE_XFER_IN;

	for (unsigned i = 0; i < len; i++) {
		if (!present(u) || u->xfer != want) {
			if (!is_write)
				data[i] = channel_empty(d) ? 0xff : 0;
			continue;
		}
		if (is_write)
			u->buf[u->pos++] = data[i];
		else
			data[i] = u->buf[u->pos++];
		if (u->pos == u->len)
			finish_block(d, u);
	}
}

static uint8_t read_status(struct ide *d)
{
	struct ide_unit *u = cur_unit(d);

	if (channel_empty(d))
		return 0xff;	/* nothing drives the bus */
	/* Device 0 answers 0 for an absent device 1, so drivers see no drive there. */
	return present(u) ? u->status : 0;
}

static uint8_t ide_in(struct ide *d, unsigned reg)
{
	struct ide_unit *u = cur_unit(d);
	uint8_t v;

	if (channel_empty(d))
		return 0xff;
	switch (reg) {
	case IDE_REG_ERROR:
		v = present(u) ? u->error : 0;
		break;
	case IDE_REG_NSECT:
		v = d->nsect;
		break;
	case IDE_REG_LBAL:
		v = d->lbal;
		break;
	case IDE_REG_LBAM:
		v = d->lbam;
		break;
	case IDE_REG_LBAH:
		v = d->lbah;
		break;
	case IDE_REG_DEVICE:
		v = d->device;
		break;
	case IDE_REG_STATUS:
		v = read_status(d);
		/* Reading status (not alternate status) acknowledges INTRQ. */
		d->irq_pending = false;
		break;
	default:
		v = 0xff;
		break;
	}
	return v;
}

static void ide_out(struct ide *d, unsigned reg, uint8_t v)
{
	/* The taskfile is locked while a reset holds the devices busy. */
	if (d->control & IDE_CTL_SRST)
		return;
	switch (reg) {
	case IDE_REG_FEATURE:
		d->feature = v;
		break;
	case IDE_REG_NSECT:
		d->nsect = v;
		break;
	case IDE_REG_LBAL:
		d->lbal = v;
		break;
	case IDE_REG_LBAM:
		d->lbam = v;
		break;
	case IDE_REG_LBAH:
		d->lbah = v;
		break;
	case IDE_REG_DEVICE:
		d->device = v;
		break;
	case IDE_REG_COMMAND:
		ide_command(d, v);
		break;
	}
}

static void control_write(struct ide *d, uint8_t v)
{
	uint8_t old = d->control;

	d->control = v;
	if ((v & IDE_CTL_SRST) && !(old & IDE_CTL_SRST)) {
		for (int i = 0; i < 2; i++) {
			d->unit[i].status = IDE_STAT_BSY;
			d->unit[i].xfer = IDE_XFER_NONE;
		}
		d->irq_pending = false;
	} else if (!(v & IDE_CTL_SRST) && (old & IDE_CTL_SRST)) {
		/* Reset done: diagnostics passed, signature loaded, no interrupt. */
		for (int i = 0; i < 2; i++) {
			d->unit[i].status = IDE_STAT_DRDY | IDE_STAT_DSC;
			d->unit[i].error = 0x01;
		}
		set_signature(d);
	}
}

static void ide_cmd_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct ide *d = dev;
	unsigned reg = addr - IDE_CMD_BASE;

	if (reg == IDE_REG_DATA) {
		data_io(d, data, len, is_write);
	} else {
		/* Only the data port is wider than a byte; split like an ISA bus. */
		for (unsigned i = 0; i < len; i++) {
			if (reg + i > IDE_REG_COMMAND) {
				if (!is_write)
					data[i] = 0xff;
			} else if (is_write) {
				ide_out(d, reg + i, data[i]);
			} else {
				data[i] = ide_in(d, reg + i);
			}
		}
	}
	update_irq(d);
}

static void ide_ctl_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct ide *d = dev;

	(void)addr;
	(void)len;
	if (is_write)
		control_write(d, data[0]);
	else
		data[0] = read_status(d);
	update_irq(d);
}

void ide_init(struct ide *d, const struct irq_line *irq)
{
	memset(d, 0, sizeof(*d));
	d->irq = irq;
	for (int i = 0; i < 2; i++)
		d->unit[i].fd = -1;
	ide_reset(d);
}

void ide_reset(struct ide *d)
{
	for (int i = 0; i < 2; i++) {
		struct ide_unit *u = &d->unit[i];

		u->status = IDE_STAT_DRDY | IDE_STAT_DSC;
		u->error = 0x01;
		u->xfer = IDE_XFER_NONE;
		u->mult = 0;
		u->wcache = true;
		u->cur_heads = u->heads;
		u->cur_spt = u->spt;
	}
	d->feature = 0;
	d->control = 0;
	d->irq_pending = false;
	set_signature(d);
	update_irq(d);
}

static void set_geometry(struct ide_unit *u)
{
	uint64_t cyls;

	/* The usual translated geometry: 16 heads, 63 sectors, at most 16383 cylinders. */
	u->heads = 16;
	u->spt = 63;
	cyls = u->sectors / (16 * 63);
	if (cyls > 16383)
		cyls = 16383;
	if (!cyls)
		cyls = 1;
	u->cyls = (uint16_t)cyls;
	u->cur_heads = u->heads;
	u->cur_spt = u->spt;
}

int ide_attach(struct ide *d, int unit, const char *path)
{
	struct ide_unit *u;
	struct stat st;
	uint64_t sectors;
	int fd;

	if (unit < 0 || unit > 1) {
		bt86_error("disk %s: IDE unit %d does not exist (0 master, 1 slave)", path, unit);
		return -1;
	}
	u = &d->unit[unit];
	if (present(u)) {
		bt86_error("disk %s: IDE unit %d already has %s", path, unit, u->path);
		return -1;
	}
	/* stat first: opening a FIFO read-write would not fail, it would hang. */
	if (stat(path, &st) < 0) {
		bt86_error("disk image %s: %s", path,
			   errno == ENOENT ? "no such file" : strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		bt86_error("disk image %s: not a regular file", path);
		return -1;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EROFS)
			bt86_error("disk image %s is read-only (%s); the IDE disk needs write access",
				   path, strerror(errno));
		else
			bt86_error("disk image %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		bt86_error("disk image %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	sectors = (uint64_t)st.st_size / IDE_SECTOR;
	if (!sectors) {
		if (st.st_size)
			bt86_error("disk image %s is smaller than one %d-byte sector", path,
				   IDE_SECTOR);
		else
			bt86_error("disk image %s is empty", path);
		close(fd);
		return -1;
	}
	if (sectors > IDE_LBA28_MAX) {
		bt86_error("disk image %s is too large for LBA28 (%llu sectors, at most %llu = 128 GiB)",
			   path, (unsigned long long)sectors, IDE_LBA28_MAX);
		close(fd);
		return -1;
	}
	if (st.st_size % IDE_SECTOR)
		bt86_warn("disk image %s: size %lld is not a multiple of %d; the last %lld bytes are ignored",
			  path, (long long)st.st_size, IDE_SECTOR,
			  (long long)(st.st_size % IDE_SECTOR));
	u->fd = fd;
	snprintf(u->path, sizeof(u->path), "%s", path);
	u->sectors = sectors;
	u->mult = 0;
	u->wcache = true;
	u->status = IDE_STAT_DRDY | IDE_STAT_DSC;
	u->error = 0x01;
	set_geometry(u);
	return 0;
}

int ide_register(struct ide *d, struct io_bus *bus)
{
	if (io_register(bus, IDE_CMD_BASE, 8, IO_W8 | IO_W16 | IO_W32, "ide", ide_cmd_io, d) < 0)
		return -1;
	return io_register(bus, IDE_CTL_PORT, 1, IO_W8, "ide ctl", ide_ctl_io, d);
}

void ide_destroy(struct ide *d)
{
	for (int i = 0; i < 2; i++) {
		struct ide_unit *u = &d->unit[i];

		if (!present(u))
			continue;
		if (fdatasync(u->fd) < 0)
			bt86_error("disk %s: fdatasync: %s", u->path, strerror(errno));
		close(u->fd);
		u->fd = -1;
	}
}
