/* bt86 command line: `bt86 run` boots a guest, `bt86 info` describes an image. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/loader.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define BT86_VERSION "0.1"

static void usage(FILE *out)
{
	fprintf(out,
"usage: bt86 run [options] KERNEL      boot KERNEL (Multiboot v1 ELF or Linux bzImage)\n"
"       bt86 info IMAGE                print what the loader understands of IMAGE\n"
"       bt86 --help | --version\n"
"\n"
"run options:\n"
"  -m, --memory SIZE       guest RAM, e.g. 64M, 1G (default 128M, min 2M, max 3G;\n"
"                          a bare number means MiB)\n"
"      --append CMDLINE    kernel command line\n"
"      --initrd FILE       Linux initrd, or Multiboot module(s): FILE[,FILE...]\n"
"      --engine NAME       CPU engine: bt (binary translation in this process,\n"
"                          the default), bt-kmod (the same translated code in\n"
"                          bt86.ko's ring-0 monitor world: insmod bt86.ko first;\n"
"                          BT86_KVIEWS=0 keeps its views in this process,\n"
"                          BT86_KCALLS=0 leaves every callout to it), kvm\n"
"                          (hardware assist through /dev/kvm)\n"
"      --disk FILE         raw disk image on the IDE primary channel; give it\n"
"                          twice for master and slave\n"
"      --serial MODE       COM1 backend: stdio (default), none, file:PATH\n"
"      --stats             print machine and engine statistics at exit\n"
"      --trace-tc          print every translated block: guest code beside its\n"
"                          translation (bt engines)\n"
"      --trace-mmu         print every shadow-MMU event: hidden and true page\n"
"                          faults, trace writes, address-space switches (bt)\n"
"      --debug-io          log accesses to ports and addresses no device claims\n"
"  -q, --quiet             print only errors (guest output is unaffected)\n"
"  -h, --help              this text\n"
"\n"
"console: with --serial stdio and a terminal on stdin, keys go to the guest's\n"
"COM1; Ctrl-A x quits, Ctrl-A h lists the escapes.\n"
"\n"
"exit status:\n"
"  0        the guest powered off (or halted with interrupts disabled)\n"
"  odd      the guest wrote v to the exit port 0xf4: status (v << 1) | 1\n"
"  2        bad command line\n"
"  4        VMM error (bad image, I/O error, engine failure)\n"
"  6        guest triple fault (the CPU shut down)\n"
"  8        the requested engine cannot run on this host\n"
"  130      stopped by Ctrl-C, SIGTERM or Ctrl-A x\n");
}

static int parse_serial(const char *s, struct vm_config *cfg)
{
	if (!strcmp(s, "stdio")) {
		cfg->serial = SERIAL_STDIO;
	} else if (!strcmp(s, "none")) {
		cfg->serial = SERIAL_NONE;
	} else if (!strncmp(s, "file:", 5) && s[5]) {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = s + 5;
	} else {
		return -1;
	}
	return 0;
}

enum {
	OPT_APPEND = 256, OPT_INITRD, OPT_ENGINE, OPT_STATS, OPT_SERIAL, OPT_DISK,
	OPT_TRACE_TC, OPT_TRACE_MMU, OPT_DEBUG_IO,
};

static const struct option run_opts[] = {
	{ "memory",   required_argument, NULL, 'm' },
	{ "append",   required_argument, NULL, OPT_APPEND },
	{ "initrd",   required_argument, NULL, OPT_INITRD },
	{ "engine",   required_argument, NULL, OPT_ENGINE },
	{ "stats",    no_argument,       NULL, OPT_STATS },
	{ "serial",   required_argument, NULL, OPT_SERIAL },
	{ "disk",     required_argument, NULL, OPT_DISK },
	{ "trace-tc", no_argument,       NULL, OPT_TRACE_TC },
	{ "trace-mmu", no_argument,      NULL, OPT_TRACE_MMU },
	{ "debug-io", no_argument,       NULL, OPT_DEBUG_IO },
	{ "quiet",    no_argument,       NULL, 'q' },
	{ "help",     no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "bt86: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'bt86 --help'.\n");
	return BT86_EXIT_USAGE;
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg = {
		.append = "",
		.engine = "bt",
		.serial = SERIAL_STDIO,
		.mem_size = 128ull << 20,
	};
	static struct vm vm;
	int ndisks = 0, c, status;

	optind = 1;
	while ((c = getopt_long(argc, argv, "m:qh", run_opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (ram_parse_size(optarg, &cfg.mem_size) < 0)
				return bad_usage("bad memory size '%s' (try 64M or 1G)", optarg);
			if (cfg.mem_size < RAM_MIN_SIZE || cfg.mem_size > RAM_MAX_SIZE)
				return bad_usage("memory size '%s' out of range (2M to 3G)", optarg);
			if (cfg.mem_size & 0xfff)
				return bad_usage("memory size '%s' is not a multiple of 4K", optarg);
			break;
		case OPT_APPEND:
			cfg.append = optarg;
			break;
		case OPT_INITRD:
			cfg.initrd = optarg;
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "bt") && strcmp(optarg, "bt-kmod") && strcmp(optarg, "kvm"))
				return bad_usage("unknown engine '%s' (bt, bt-kmod or kvm)", optarg);
			cfg.engine = optarg;
			break;
		case OPT_STATS:
			cfg.stats = true;
			break;
		case OPT_SERIAL:
			if (parse_serial(optarg, &cfg) < 0)
				return bad_usage("bad --serial '%s' (stdio, none or file:PATH)", optarg);
			break;
		case OPT_DISK:
			if (ndisks == 2)
				return bad_usage("too many disks at '%s' (master and slave only)", optarg);
			cfg.disk[ndisks++] = optarg;
			break;
		case OPT_TRACE_TC:
			cfg.trace_tc = true;
			break;
		case OPT_TRACE_MMU:
			cfg.trace_mmu = true;
			break;
		case OPT_DEBUG_IO:
			cfg.debug_io = true;
			break;
		case 'q':
			cfg.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'bt86 --help'.\n");
			return BT86_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return bad_usage("%s", optind >= argc ? "run: no KERNEL given" :
				 "run: more than one KERNEL given");
	cfg.kernel = argv[optind];
	log_quiet = cfg.quiet;

	if (vm_create(&vm, &cfg) < 0)
		return BT86_EXIT_ERROR;
	if (vm_load(&vm) < 0) {
		vm_destroy(&vm);
		return BT86_EXIT_ERROR;
	}
	status = vm_run(&vm);
	vm_destroy(&vm);
	return status;
}

static int cmd_info(int argc, char **argv)
{
	if (argc != 2)
		return bad_usage("%s", "info takes exactly one IMAGE");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	return loader_info(argv[1], stdout) < 0 ? BT86_EXIT_ERROR : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return BT86_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("bt86 %s\n", BT86_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	return bad_usage("unknown command '%s' (run or info)", argv[1]);
}
