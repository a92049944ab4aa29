/* Port-I/O and MMIO dispatch: one handler signature for every device. */
#ifndef VMM_IO_H
#define VMM_IO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A device access.  addr is the port number or guest-physical address; data
 * holds len little-endian bytes (filled by the device on reads).
 */
typedef void (*io_fn)(void *dev, uint32_t addr, uint8_t *data, unsigned len,
		      bool is_write);

#define IO_W8	1u	/* widths a range accepts natively; others are split */
#define IO_W16	2u
#define IO_W32	4u

struct io_range {
	uint32_t base;
	uint32_t len;
	unsigned widths;	/* IO_W* mask */
	const char *name;
	io_fn fn;
	void *dev;
};

#define IO_MAX_RANGES	64

struct io_bus {
	const char *kind;	/* "port" or "mmio", for log lines */
	struct io_range ranges[IO_MAX_RANGES];
	int nr;
	uint8_t *port_map;	/* port -> range index + 1, ports only */
	bool debug;		/* log unclaimed accesses to stderr */
	uint64_t accesses;
	uint64_t unclaimed;
};

int io_bus_init(struct io_bus *bus, const char *kind, bool is_ports);
void io_bus_destroy(struct io_bus *bus);

/* Claim [base, base+len); returns 0, or -1 when it overlaps a claimed range. */
int io_register(struct io_bus *bus, uint32_t base, uint32_t len, unsigned widths,
		const char *name, io_fn fn, void *dev);

/*
 * One access of 1, 2 or 4 bytes.  A width the range does not accept is split
 * into byte accesses of consecutive addresses, as an 8-bit ISA device would see.
 * Unclaimed reads return all ones (a floating ISA bus), writes are dropped.
 */
void io_access(struct io_bus *bus, uint32_t addr, uint8_t *data, unsigned len,
	       bool is_write);

/* rep ins/outs: count accesses of len bytes at one port, buf holds them all. */
void io_string(struct io_bus *bus, uint32_t port, unsigned len, uint32_t count,
	       uint8_t *buf, bool is_write);

/* Convenience wrappers for host-side tests and the run loop. */
uint32_t io_in(struct io_bus *bus, uint32_t port, unsigned len);
void io_out(struct io_bus *bus, uint32_t port, unsigned len, uint32_t val);

/* Return the range claiming addr, or NULL. */
const struct io_range *io_find(const struct io_bus *bus, uint32_t addr);

#endif
