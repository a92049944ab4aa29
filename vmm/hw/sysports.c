/* Port 0x80 (POST code, I/O delay), port 0x92 (fast A20 and reset) and the exit port. */
#include <string.h>

#include "vmm/hw/sysports.h"

bool sysports_a20(const struct sysports *s)
{
	return s->kbc ? i8042_a20(s->kbc) : s->a20;
}

static void set_a20(struct sysports *s, bool on)
{
	if (s->kbc)
		i8042_set_a20(s->kbc, on);
	else
		s->a20 = on;
}

static void sysports_io(void *dev, uint32_t addr, uint8_t *data, unsigned len, bool is_write)
{
	struct sysports *s = dev;
	uint32_t v = 0;

	switch (addr) {
	case SYSPORTS_POST:
		/* Linux writes here for I/O delays; only the value is kept. */
		if (is_write) {
			s->post = data[0];
			s->post_writes++;
		} else {
			data[0] = s->post;
		}
		break;
	case SYSPORTS_CTLA:
		if (!is_write) {
			data[0] = s->ctla | (sysports_a20(s) ? SYSPORTS_CTLA_A20 : 0);
			break;
		}
		s->ctla = data[0] & ~(SYSPORTS_CTLA_A20 | SYSPORTS_CTLA_RESET);
		set_a20(s, data[0] & SYSPORTS_CTLA_A20);
		if (data[0] & SYSPORTS_CTLA_RESET)
			ctl_request(s->ctl, VM_STOP_RESET, 0, "port 0x92 fast reset");
		break;
	case SYSPORTS_EXIT:
		if (!is_write) {
			memset(data, 0xff, len);
			break;
		}
		memcpy(&v, data, len);
		/*
		 * isa-debug-exit semantics.  The process status keeps only the
		 * low 8 bits, so guests should write values below 128.
		 */
		ctl_request(s->ctl, VM_STOP_EXITPORT, (int)((v << 1) | 1),
			    "guest wrote 0x%x to exit port 0x%x", v, SYSPORTS_EXIT);
		break;
	default:
		/* 0xf5-0xf7: claimed only so wide writes at 0xf4 arrive whole. */
		if (!is_write)
			memset(data, 0xff, len);
		break;
	}
}

void sysports_init(struct sysports *s, struct vm_ctl *ctl, struct i8042 *kbc)
{
	memset(s, 0, sizeof(*s));
	s->ctl = ctl;
	s->kbc = kbc;
	s->a20 = true;
}

int sysports_register(struct sysports *s, struct io_bus *bus)
{
	if (io_register(bus, SYSPORTS_POST, 1, IO_W8, "post", sysports_io, s) < 0)
		return -1;
	if (io_register(bus, SYSPORTS_CTLA, 1, IO_W8, "sysctl-a", sysports_io, s) < 0)
		return -1;
	return io_register(bus, SYSPORTS_EXIT, SYSPORTS_EXIT_LEN, IO_W8 | IO_W16 | IO_W32,
			   "isa-debug-exit", sysports_io, s);
}
