/* Port-I/O and MMIO dispatch tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/io.h"

int io_bus_init(struct io_bus *bus, const char *kind, bool is_ports)
{
	memset(bus, 0, sizeof(*bus));
	bus->kind = kind;
	if (is_ports) {
		/* One byte per port makes every in/out a single indexed load. */
		bus->port_map = calloc(65536, 1);
		if (!bus->port_map)
			return -1;
	}
	return 0;
}

void io_bus_destroy(struct io_bus *bus)
{
	free(bus->port_map);
	bus->port_map = NULL;
	bus->nr = 0;
}

int io_register(struct io_bus *bus, uint32_t base, uint32_t len, unsigned widths,
		const char *name, io_fn fn, void *dev)
{
	struct io_range *r;
	uint64_t end = (uint64_t)base + len;

	if (!len || bus->nr >= IO_MAX_RANGES || (bus->port_map && end > 65536))
		return -1;
	for (int i = 0; i < bus->nr; i++) {
		const struct io_range *o = &bus->ranges[i];

		if (base < (uint64_t)o->base + o->len && o->base < end)
			return -1;
	}
	r = &bus->ranges[bus->nr++];
	r->base = base;
	r->len = len;
	r->widths = widths ? widths : IO_W8;
	r->name = name;
	r->fn = fn;
	r->dev = dev;
	if (bus->port_map)
		memset(bus->port_map + base, bus->nr, len);
	return 0;
}

const struct io_range *io_find(const struct io_bus *bus, uint32_t addr)
{
	if (bus->port_map) {
		if (addr > 0xffff || !bus->port_map[addr])
			return NULL;
		return &bus->ranges[bus->port_map[addr] - 1];
	}
	for (int i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (addr - r->base < r->len)
			return r;
	}
	return NULL;
}

static void unclaimed(struct io_bus *bus, uint32_t addr, uint8_t *data, unsigned len,
		      bool is_write)
{
	bus->unclaimed++;
	if (!is_write)
		memset(data, 0xff, len);
	if (bus->debug) {
		uint32_t v = 0;

		memcpy(&v, data, len > 4 ? 4 : len);
		fprintf(stderr, "bt86: unclaimed %s %s 0x%x size %u%s0x%x\n", bus->kind,
			is_write ? "write" : "read", addr, len, is_write ? " value " : " -> ",
			v);
	}
}

void io_access(struct io_bus *bus, uint32_t addr, uint8_t *data, unsigned len,
	       bool is_write)
{
	const struct io_range *r = io_find(bus, addr);

	bus->accesses++;
	if (r && (r->widths & len) && addr + len <= r->base + r->len) {
		r->fn(r->dev, addr, data, len, is_write);
		return;
	}
	if (len == 1) {
		unclaimed(bus, addr, data, len, is_write);
		return;
	}
	/* Split: each byte goes to its own address, as on an 8-bit bus. */
	for (unsigned i = 0; i < len; i++) {
		r = io_find(bus, addr + i);
		if (r)
			r->fn(r->dev, addr + i, data + i, 1, is_write);
		else
			unclaimed(bus, addr + i, data + i, 1, is_write);
	}
}

void io_string(struct io_bus *bus, uint32_t port, unsigned len, uint32_t count,
	       uint8_t *buf, bool is_write)
{
	for (uint32_t i = 0; i < count; i++)
		io_access(bus, port, buf + (size_t)i * len, len, is_write);
}

uint32_t io_in(struct io_bus *bus, uint32_t port, unsigned len)
{
	uint32_t v = 0;

	io_access(bus, port, (uint8_t *)&v, len, false);
	return v;
}

void io_out(struct io_bus *bus, uint32_t port, unsigned len, uint32_t val)
{
	io_access(bus, port, (uint8_t *)&val, len, true);
}
