# Conveniences over the scripts the README names.
.PHONY: run test deps test-deps build fuzz bench
run:        ; scripts/run.sh
test:       ; scripts/test.sh
deps:       ; scripts/deps.sh run
test-deps:  ; scripts/deps.sh test
build:      ; . scripts/env.sh && go build -o bin/pvinject ./cmd/pvinject
fuzz:       ; scripts/fuzz.sh
bench:      ; . scripts/env.sh && go test -run='^$$' -bench=. -benchmem ./core/...
