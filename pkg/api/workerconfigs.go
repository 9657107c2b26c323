package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/efskeeper/efskeeper/pkg/engine"
)

// WorkerConfig is where the index workers of one Region (and, optionally,
// one account) run, overriding the automatic choice.
type WorkerConfig struct {
	Account          string    `json:"account,omitempty"`
	Region           string    `json:"region"`
	SubnetID         string    `json:"subnetId,omitempty"`
	SecurityGroupIDs []string  `json:"securityGroupIds"`
	PrivateNetwork   bool      `json:"privateNetwork"`
	InstanceType     string    `json:"instanceType,omitempty"`
	MaxLifetimeHours int       `json:"maxLifetimeHours,omitempty"`
	Version          int64     `json:"version"`
	UpdatedAt        time.Time `json:"updatedAt,omitzero"`
}

// WorkerConfigList lists every worker configuration, by Region then account.
type WorkerConfigList struct {
	WorkerConfigs []WorkerConfig `json:"workerConfigs"`
}

func workerConfigDoc(c *engine.WorkerConfig) WorkerConfig {
	return WorkerConfig{Account: c.Account, Region: c.Region, SubnetID: c.SubnetID, SecurityGroupIDs: nonNil(c.SecurityGroupIDs),
		PrivateNetwork: c.PrivateNetwork, InstanceType: c.InstanceType, MaxLifetimeHours: c.MaxLifetimeHours, Version: c.Version, UpdatedAt: c.UpdatedAt}
}

func (s *Server) workerConfigs() (engine.WorkerConfigStore, error) {
	if s.WorkerConfigs == nil {
		return nil, engine.Errorf(ENOTIMPLEMENTED, "this deployment keeps no worker configurations")
	}
	return s.WorkerConfigs, nil
}

// workerConfigKey reads {region} and the optional ?account= of a route.
func workerConfigKey(r *http.Request) (account, region string, err error) {
	region = r.PathValue("region")
	q := newQuery(r, "account")
	account = q.str("account", accountPattern, "a 12-digit account id")
	if !regionPattern.MatchString(region) {
		return "", "", engine.Errorf(engine.EINVALID, "%q is not an AWS Region code", region)
	}
	return account, region, q.err()
}

func writeWorkerConfig(w http.ResponseWriter, status int, c *engine.WorkerConfig) {
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, status, workerConfigDoc(c))
}

func (s *Server) listWorkerConfigs(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r).err(); err != nil {
		return err
	}
	st, err := s.workerConfigs()
	if err != nil {
		return err
	}
	all, err := st.ListWorkerConfigs(r.Context())
	if err != nil {
		return fmt.Errorf("list worker configurations: %w", err)
	}
	out := WorkerConfigList{WorkerConfigs: make([]WorkerConfig, 0, len(all))}
	for _, c := range all {
		out.WorkerConfigs = append(out.WorkerConfigs, workerConfigDoc(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getWorkerConfig(w http.ResponseWriter, r *http.Request) error {
	account, region, err := workerConfigKey(r)
	if err != nil {
		return err
	}
	st, err := s.workerConfigs()
	if err != nil {
		return err
	}
	c, err := st.GetWorkerConfig(r.Context(), account, region)
	if err != nil {
		return fmt.Errorf("read worker configuration: %w", err)
	}
	writeWorkerConfig(w, http.StatusOK, c)
	return nil
}

// putWorkerConfig creates or replaces one configuration; the body's region
// and account must be the URL's.
func (s *Server) putWorkerConfig(w http.ResponseWriter, r *http.Request) error {
	account, region, err := workerConfigKey(r)
	if err != nil {
		return err
	}
	version, star, err := ifMatch(r, "the worker configuration of "+region)
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	c, err := engine.ParseWorkerConfig(body)
	if err != nil {
		return err
	}
	var probs []problem
	if c.Region != region {
		probs = append(probs, problem{Path: "region", Message: fmt.Sprintf("the document's region %q differs from %q in the URL", c.Region, region)})
	}
	if c.Account != account {
		probs = append(probs, problem{Path: "account", Message: fmt.Sprintf("the document's account %q differs from %q in the URL's ?account=", c.Account, account)})
	}
	if len(probs) > 0 {
		return invalid("the worker configuration does not match its URL", probs)
	}
	st, err := s.workerConfigs()
	if err != nil {
		return err
	}
	if star {
		cur, err := st.GetWorkerConfig(r.Context(), account, region)
		if err != nil {
			if engine.IsNotFound(err) {
				return engine.Errorf(engine.EPRECONDITION, "If-Match: * needs an existing worker configuration, and there is none for %s", region)
			}
			return fmt.Errorf("read worker configuration: %w", err)
		}
		version = cur.Version
	}
	rec, created, err := engine.SaveWorkerConfig(r.Context(), st, s.Engine.Clock, c, version)
	if err != nil {
		return err
	}
	st2 := http.StatusOK
	if created {
		st2 = http.StatusCreated
	}
	writeWorkerConfig(w, st2, rec)
	return nil
}

func (s *Server) deleteWorkerConfig(w http.ResponseWriter, r *http.Request) error {
	account, region, err := workerConfigKey(r)
	if err != nil {
		return err
	}
	version, _, err := ifMatch(r, "the worker configuration of "+region)
	if err != nil {
		return err
	}
	st, err := s.workerConfigs()
	if err != nil {
		return err
	}
	if err := engine.RemoveWorkerConfig(r.Context(), st, account, region, version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
