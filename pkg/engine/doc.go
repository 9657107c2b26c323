// Package engine holds efskeeper's domain types, the ports (interfaces) that
// the outside world must implement, and the use-cases that drive backups:
// tick, region run, job event, reconcile and retention.
//
// Nothing here talks to AWS. pkg/awscloud, pkg/store/* and pkg/sim implement
// the ports; functions/*, cmd/efskeeper and the demo wire them in. Every
// time comes from the injected Clock and every identifier is derived from its
// inputs, so a use-case that runs twice, late, or after a crash converges to
// the same records and the same AWS jobs.
package engine
