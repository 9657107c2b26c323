// Package awscloud implements the engine's ports (engine.Backup,
// engine.FileSystems, engine.Organization, engine.Queue, engine.Notifier)
// with aws-sdk-go-v2.
//
// One Cloud holds the SDK clients of every (account, Region) it has talked
// to. The home account's calls use the credentials the Cloud was built with;
// a member account's calls use credentials from sts:AssumeRole on the member
// role, assumed once per account and refreshed before they expire. Every
// error that leaves this package is an *engine.Error whose code says what
// the caller can do about it (see codeOf) and whose message names the step
// and the resource.
package awscloud
