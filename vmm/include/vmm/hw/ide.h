/* ATA/IDE primary channel in PIO mode, master and slave backed by raw image files. */
#ifndef VMM_HW_IDE_H
#define VMM_HW_IDE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/io.h"
#include "vmm/irq.h"

#define IDE_CMD_BASE	0x1f0	/* command block registers */
#define IDE_CTL_PORT	0x3f6	/* alternate status / device control */
#define IDE_IRQ		14
#define IDE_SECTOR	512
#define IDE_MAX_MULT	16	/* sectors per DRQ block for READ/WRITE MULTIPLE */
#define IDE_LBA28_MAX	0x0fffffffULL	/* sectors addressable with LBA28 */

/* Command block register offsets. */
#define IDE_REG_DATA	0	/* data, 16-bit */
#define IDE_REG_ERROR	1	/* error (read) */
#define IDE_REG_FEATURE	1	/* features (write) */
#define IDE_REG_NSECT	2	/* sector count */
#define IDE_REG_LBAL	3	/* LBA low / sector number */
#define IDE_REG_LBAM	4	/* LBA mid / cylinder low */
#define IDE_REG_LBAH	5	/* LBA high / cylinder high */
#define IDE_REG_DEVICE	6	/* device / head */
#define IDE_REG_STATUS	7	/* status (read) */
#define IDE_REG_COMMAND	7	/* command (write) */

#define IDE_STAT_ERR	0x01	/* error */
#define IDE_STAT_IDX	0x02	/* index (obsolete) */
#define IDE_STAT_CORR	0x04	/* corrected data (obsolete) */
#define IDE_STAT_DRQ	0x08	/* data request */
#define IDE_STAT_DSC	0x10	/* device seek complete */
#define IDE_STAT_DF	0x20	/* device fault */
#define IDE_STAT_DRDY	0x40	/* device ready */
#define IDE_STAT_BSY	0x80	/* busy */

#define IDE_ERR_AMNF	0x01	/* address mark not found */
#define IDE_ERR_ABRT	0x04	/* command aborted */
#define IDE_ERR_IDNF	0x10	/* ID (sector address) not found */
#define IDE_ERR_UNC	0x40	/* uncorrectable data error */

#define IDE_DEV_HEAD	0x0f	/* head / LBA bits 27:24 */
#define IDE_DEV_DEV	0x10	/* device 1 (slave) selected */
#define IDE_DEV_LBA	0x40	/* LBA addressing */
#define IDE_DEV_OBS	0xa0	/* obsolete bits, set by old drivers */

#define IDE_CTL_NIEN	0x02	/* interrupts disabled */
#define IDE_CTL_SRST	0x04	/* software reset */
#define IDE_CTL_HOB	0x80	/* high order byte (LBA48) */

#define ATA_CMD_RECALIBRATE	0x10	/* 0x10-0x1f: recalibrate (obsolete) */
#define ATA_CMD_READ		0x20	/* READ SECTORS */
#define ATA_CMD_READ_NORETRY	0x21	/* READ SECTORS without retry */
#define ATA_CMD_WRITE		0x30	/* WRITE SECTORS */
#define ATA_CMD_WRITE_NORETRY	0x31	/* WRITE SECTORS without retry */
#define ATA_CMD_VERIFY		0x40	/* READ VERIFY SECTORS */
#define ATA_CMD_VERIFY_NORETRY	0x41	/* READ VERIFY SECTORS without retry */
#define ATA_CMD_SEEK		0x70	/* SEEK */
#define ATA_CMD_DIAGNOSE	0x90	/* EXECUTE DEVICE DIAGNOSTIC */
#define ATA_CMD_INIT_PARAMS	0x91	/* INITIALIZE DEVICE PARAMETERS */
#define ATA_CMD_ID_PACKET	0xa1	/* IDENTIFY PACKET DEVICE */
#define ATA_CMD_READ_MULTI	0xc4	/* READ MULTIPLE */
#define ATA_CMD_WRITE_MULTI	0xc5	/* WRITE MULTIPLE */
#define ATA_CMD_SET_MULTI	0xc6	/* SET MULTIPLE MODE */
#define ATA_CMD_STANDBY_NOW	0xe0	/* STANDBY IMMEDIATE */
#define ATA_CMD_IDLE_NOW	0xe1	/* IDLE IMMEDIATE */
#define ATA_CMD_STANDBY		0xe2	/* STANDBY */
#define ATA_CMD_IDLE		0xe3	/* IDLE */
#define ATA_CMD_CHECK_POWER	0xe5	/* CHECK POWER MODE */
#define ATA_CMD_FLUSH		0xe7	/* FLUSH CACHE */
#define ATA_CMD_IDENTIFY	0xec	/* IDENTIFY DEVICE */
#define ATA_CMD_SET_FEATURES	0xef	/* SET FEATURES */

#define ATA_FEAT_WCACHE_ON	0x02	/* SET FEATURES: enable write cache */
#define ATA_FEAT_XFER_MODE	0x03	/* SET FEATURES: set transfer mode */
#define ATA_FEAT_WCACHE_OFF	0x82	/* SET FEATURES: disable write cache */

enum ide_xfer { IDE_XFER_NONE, IDE_XFER_IN, IDE_XFER_OUT };

struct ide_unit {
	int fd;				/* -1: no device */
	char path[256];
	uint64_t sectors;		/* capacity, at most IDE_LBA28_MAX */
	uint16_t cyls, heads, spt;	/* default CHS geometry */
	uint16_t cur_heads, cur_spt;	/* as set by INITIALIZE DEVICE PARAMETERS */
	uint8_t status, error;
	uint8_t mult;			/* sectors per block for *MULTIPLE, 0 = off */
	bool wcache;			/* write cache on: fdatasync only on FLUSH */

	/* The PIO transfer in progress. */
	enum ide_xfer xfer;
	uint8_t cmd;
	uint32_t lba;			/* first sector of the current block */
	uint32_t remaining;		/* sectors left, including the current block */
	unsigned block;			/* sectors in the current block */
	unsigned pos, len;		/* bytes into buf, bytes in this block */
	uint8_t buf[IDE_MAX_MULT * IDE_SECTOR];

	uint64_t sectors_read, sectors_written;
};

struct ide {
	const struct irq_line *irq;
	int irq_level;
	bool irq_pending;		/* INTRQ of the channel, before nIEN */

	/* The taskfile: writes reach both devices, so one copy serves. */
	uint8_t feature, nsect, lbal, lbam, lbah, device, control;

	struct ide_unit unit[2];
};

void ide_init(struct ide *d, const struct irq_line *irq);
/*
 * Attach a raw image as unit 0 (master) or 1 (slave).  Returns 0, or -1 after
 * bt86_error naming the problem (missing, not a regular file, read-only,
 * empty, too large for LBA28).  A size that is not a sector multiple is
 * rounded down with a warning.
 */
int ide_attach(struct ide *d, int unit, const char *path);
/* Hardware reset (machine reset): registers and modes to power-on state, images kept. */
void ide_reset(struct ide *d);
/* Claim 0x1f0-0x1f7 (data port 16/32-bit) and 0x3f6; returns 0 or -1. */
int ide_register(struct ide *d, struct io_bus *bus);
/* fdatasync and close the images. */
void ide_destroy(struct ide *d);

#endif
