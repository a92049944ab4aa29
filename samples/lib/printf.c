/* Guest runtime: a small printf family for the serial console and for buffers. */
#include "rt.h"

struct sink {
	char *buf;		/* NULL: write to the serial console */
	size_t size;
	size_t len;		/* characters produced, even past size */
};

static void sink_put(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

/*
 * 64-by-32 division with 32-bit divl steps, so the runtime needs no libgcc
 * (__udivdi3).  Returns the remainder; *v becomes the quotient.
 */
static uint32_t div64_32(uint64_t *v, uint32_t base)
{
	uint32_t hi = (uint32_t)(*v >> 32), lo = (uint32_t)*v;
	uint32_t qhi = hi / base, rem = hi % base, qlo;

	/* rem < base, so edx:eax / base cannot overflow. */
	asm("divl %4" : "=a"(qlo), "=d"(rem) : "a"(lo), "d"(rem), "rm"(base));
	*v = ((uint64_t)qhi << 32) | qlo;
	return rem;
}

struct spec {
	int width;
	bool left;		/* '-' */
	bool zero;		/* '0' */
	bool upper;		/* %X */
};

static void put_padded(struct sink *s, const char *str, size_t n,
		       const struct spec *sp, const char *prefix)
{
	size_t plen = strlen(prefix);
	int pad = sp->width - (int)(n + plen);

	if (!sp->left && !sp->zero) {
		for (; pad > 0; pad--)
			sink_put(s, ' ');
	}
	while (*prefix)
		sink_put(s, *prefix++);
	if (!sp->left && sp->zero) {
		for (; pad > 0; pad--)
			sink_put(s, '0');
	}
	while (n--)
		sink_put(s, *str++);
	for (; pad > 0; pad--)
		sink_put(s, ' ');
}

static void put_number(struct sink *s, uint64_t v, unsigned base, bool neg,
		       const struct spec *sp, const char *prefix)
{
	const char *digits = sp->upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = digits[div64_32(&v, base)];
	} while (v);
	put_padded(s, tmp + i, sizeof(tmp) - i, sp, neg ? "-" : prefix);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		struct spec sp = { 0 };
		int lng = 0;
		uint64_t u;
		int64_t d;
		const char *str;
		char c;

		if (*fmt != '%') {
			sink_put(s, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			sp.width = sp.width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		if (*fmt == 'z')	/* size_t is 32 bits here */
			fmt++;

		switch (*fmt) {
		case 'd':
		case 'i':
			d = lng >= 2 ? va_arg(ap, long long) : va_arg(ap, int);
			u = d < 0 ? -(uint64_t)d : (uint64_t)d;
			put_number(s, u, 10, d < 0, &sp, "");
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = lng >= 2 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			sp.upper = *fmt == 'X';
			put_number(s, u, *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16,
				   false, &sp, "");
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			sp.zero = true;
			sp.width = 10;
			put_number(s, u, 16, false, &sp, "0x");
			break;
		case 's':
			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			put_padded(s, str, strlen(str), &sp, "");
			break;
		case 'c':
			c = (char)va_arg(ap, int);
			put_padded(s, &c, 1, &sp, "");
			break;
		case '%':
			sink_put(s, '%');
			break;
		case '\0':
			return;
		default:	/* unknown: print it so the mistake is visible */
			sink_put(s, '%');
			sink_put(s, *fmt);
			break;
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	format(&s, fmt, ap);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	static char dummy;
	struct sink s = { .buf = size ? buf : &dummy, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
