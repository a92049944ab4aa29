/* The kvm engine's capability probe: can this host's /dev/kvm run 32-bit paged guests? */
#ifndef MONITOR_KVM_PROBE_H
#define MONITOR_KVM_PROBE_H

#include <stddef.h>

/* How long the probe guest may take before the host counts as unusable. */
#define BT86_KVM_PROBE_GUEST_MS	200	/* from the first KVM_RUN to the probe's out */
#define BT86_KVM_PROBE_TOTAL_MS	1500	/* the whole probe, VM creation included */

/*
 * Run the probe guest in a scratch VM in a child process.  Return 0 when it
 * ran correctly and in time, else -1 with a one-line reason in why.  Never
 * blocks for much longer than BT86_KVM_PROBE_TOTAL_MS, whatever the host does.
 */
int bt86_kvm_probe(char *why, size_t len);

#endif
