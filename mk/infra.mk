# Infrastructure: the CDK app in infra/ (docs/deploy.md).
#
#   make synth        build the functions and the worker, synthesize every
#                     stack into cdk.out offline, fail on any cdk-nag error
#   make infra-test   assertion and cdk-nag tests of the stacks
#
# Extra context for a synth: make synth CDK_CONTEXT='-c homeRegion=eu-west-1 -c regions=eu-west-1,us-east-1'

CDK         ?= node_modules/.bin/cdk
CDK_OUT     ?= cdk.out
CDK_CONTEXT ?=

# jsii (the bridge from Go to the CDK's JavaScript) prints a banner on Node 20
# and a deprecation warning each time cdk-nag's EventBridge rule reads
# CfnEventBusPolicy.principal; neither says anything about this code. Its
# Node process starts while Go packages initialize, so only the environment
# of the whole command can silence it: exported for every recipe, including
# 'make test'.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20
export JSII_DEPRECATED ?= quiet
# The CLI must not phone home during an offline synth (notices, telemetry)
# nor look anything up.
INFRA_ENV = CDK_DISABLE_CLI_TELEMETRY=true

.PHONY: synth infra-test

synth: build
	@test -x $(CDK) || { echo "$(CDK) is missing: run 'make deps' (npm ci) first" >&2; exit 1; }
	rm -rf $(CDK_OUT)
	$(INFRA_ENV) $(CDK) synth --quiet --no-notices --no-lookups --output $(CDK_OUT) $(CDK_CONTEXT)
	@# The member stack lives in a nested stage (so 'cdk deploy --all' skips it);
	@# give its StackSet template a stable name.
	cp $(CDK_OUT)/assembly-Member/*.template.json $(CDK_OUT)/efskeeper-member.template.json
	@echo "synthesized: $$(ls $(CDK_OUT)/*.template.json | tr '\n' ' ')"

infra-test:
	go test ./infra/...
