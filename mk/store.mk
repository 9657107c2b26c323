# The engine.Store implementations: the memory store and the DynamoDB store
# against dynalite (from node_modules), both through pkg/store/storetest.
.PHONY: test-store
test-store: deps
	$(GO) test -count=1 ./pkg/store/...
