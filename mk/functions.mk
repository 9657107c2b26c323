# Lambda function checks: `make functions-check` builds the functions and
# fails if a bootstrap exceeds FUNCTION_MAX_BYTES or links the CDK (which
# belongs to infra/ only); it prints the AWS SDK services each one links.
FUNCTION_MAX_BYTES ?= 20000000

.PHONY: functions-check

functions-check: build
	@fail=0; for f in $(FUNCTIONS); do \
	  [ -d functions/$$f ] || continue; \
	  size=$$(stat -c %s $(BUILD)/functions/$$f/bootstrap); \
	  deps=$$(CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) list -tags lambda.norpc -deps ./functions/$$f); \
	  cdk=$$(echo "$$deps" | grep -E 'aws-cdk|jsii|constructs' || true); \
	  services=$$(echo "$$deps" | grep -E 'aws-sdk-go-v2/service/[^/]+$$' | sed 's|.*/service/||' | sort | tr '\n' ' '); \
	  printf '  %-12s %9d bytes  services: %s\n' $$f $$size "$$services"; \
	  if [ $$size -gt $(FUNCTION_MAX_BYTES) ]; then echo "  $$f: bootstrap is larger than $(FUNCTION_MAX_BYTES) bytes"; fail=1; fi; \
	  if [ -n "$$cdk" ]; then echo "  $$f links CDK packages: $$cdk"; fail=1; fi; \
	done; exit $$fail
