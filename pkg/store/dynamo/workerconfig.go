package dynamo

import (
	"context"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

var _ engine.WorkerConfigStore = (*Store)(nil)

// Worker configurations share one partition: they are few (one per Region,
// or per account and Region) and listed together.
const (
	pkWorkerConfigs      = "WORKERCONFIGS"
	skWorkerConfigPrefix = "WORKERCONFIG#"
)

// workerConfigKey sorts by Region, then account: '#' sorts before every
// character of a Region name, and the Region-wide configuration (account
// "") before the accounts'.
func workerConfigKey(account, region string) (pk, sk string) {
	return pkWorkerConfigs, skWorkerConfigPrefix + region + "#" + account
}

func workerConfigName(account, region string) string {
	if account == "" {
		return region
	}
	return account + "/" + region
}

// GetWorkerConfig reads the configuration of exactly (account, region) (1
// GetItem).
func (s *Store) GetWorkerConfig(ctx context.Context, account, region string) (*engine.WorkerConfig, error) {
	pk, sk := workerConfigKey(account, region)
	return getRecord[engine.WorkerConfig](ctx, s, pk, sk, "worker configuration", workerConfigName(account, region))
}

// ListWorkerConfigs reads partition WORKERCONFIGS, by Region then account
// (1 Query per 1 MB).
func (s *Store) ListWorkerConfigs(ctx context.Context) ([]*engine.WorkerConfig, error) {
	in := keyQuery("", pkWorkerConfigs, "begins_with(#sk, :a)", skWorkerConfigPrefix)
	return queryAll[engine.WorkerConfig](ctx, s, in, "worker configurations")
}

// PutWorkerConfig writes a valid configuration at c.Version (0 creates it)
// (1 PutItem).
func (s *Store) PutWorkerConfig(ctx context.Context, c *engine.WorkerConfig) error {
	if c == nil {
		return engine.Errorf(engine.EINVALID, "put worker configuration: nil")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	pk, sk := workerConfigKey(c.Account, c.Region)
	extra := attrs(attrPK, pk, attrSK, sk, attrType, "workerconfig")
	if err := s.write(ctx, c, extra, c.Version, "worker configuration", workerConfigName(c.Account, c.Region)); err != nil {
		return err
	}
	c.Version++
	return nil
}

// DeleteWorkerConfig deletes the configuration if version is the stored
// one (1 DeleteItem; a failed condition costs 1 GetItem against emulators,
// to tell ENOTFOUND from ECONFLICT).
func (s *Store) DeleteWorkerConfig(ctx context.Context, account, region string, version int64) error {
	pk, sk := workerConfigKey(account, region)
	return s.deleteVersioned(ctx, pk, sk, version, "worker configuration", workerConfigName(account, region))
}
