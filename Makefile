# One command to run the service locally, one to run every test. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | cksum | cut -d' ' -f1)
# `chalice package` needs a region, never credentials.
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: run reconcile test lint package-check bench venv clean deploy undeploy admin-password

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'pip<26.3'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The CLI, editable as a plain path entry: setuptools' default editable finder is a module
	# every interpreter of this venv would import at start-up (~15 ms of each cold start measured).
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . --config-settings editable_mode=compat
	rm -f $(VENV)/.installed-*
	touch $@

## run: moto server + infra stack + bootstrap admin + `chalice local` (Ctrl-C stops all)
run: venv
	$(BIN)/python scripts/run_local.py

## reconcile: one DNS reconciler pass against the running `make run` (on AWS:
##   .venv/bin/chalice invoke -n reconcile_dns --stage prod < infra/reconcile-event.json)
reconcile: venv
	$(BIN)/python scripts/reconcile.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## package-check: cfn-lint the infra template; package the functions with the gateway responses
## merged in (out/, the package `make bench` measures) and as one stack with the infra
## (out/single/); cfn-lint both; print the package size. Needs PyPI (chalice downloads
## manylinux wheels; cached in .chalice/deployments/), never AWS credentials.
package-check: venv
	$(BIN)/cfn-lint infra/template.yaml infra/front.yaml
	rm -rf out
	$(BIN)/chalice package --stage prod --merge-template infra/chalice-merge.yaml out/
	$(BIN)/cfn-lint out/sam.yaml
	$(BIN)/python -m infra.single_stack --stage prod --sam out/sam.yaml --output out/single-stack-merge.json
	$(BIN)/chalice package --stage prod --merge-template out/single-stack-merge.json out/single/
	$(BIN)/cfn-lint out/single/sam.json
	@$(BIN)/python -c 'import os; print("deployment package: %.1f MB (out/deployment.zip)" % (os.path.getsize("out/deployment.zip") / 1e6))'

## bench: the performance figures (prints a table, writes bench/results/latest.json); not a test
bench: package-check
	$(BIN)/python bench/run.py

## test: everything CI runs
test: lint package-check
	$(BIN)/python -m pytest

## deploy: the whole stage on AWS, created or updated (see infra/README.md):
##   make deploy STAGE=prod ZONE_DOMAIN=onezone.example.com [EXISTING_HOSTED_ZONE_ID=Z...] [REGION=eu-central-1]
##               [ALARM_EMAIL=ops@example.com] [LOG_RETENTION_DAYS=90] [THROTTLE_RATE=50] [THROTTLE_BURST=100]
##               [CERTIFICATE_ARN=arn:aws:acm:us-east-1:...]  (the front's; default: one is made and DNS-validated)
DEPLOY_OPTIONS = $(if $(REGION),--region $(REGION))
deploy: venv
	$(if $(STAGE),,$(error STAGE=dev or STAGE=prod is required))
	$(if $(ZONE_DOMAIN),,$(error ZONE_DOMAIN=... is required))
	$(BIN)/python scripts/deploy.py deploy --stage $(STAGE) --zone-domain $(ZONE_DOMAIN) $(DEPLOY_OPTIONS) \
		$(if $(EXISTING_HOSTED_ZONE_ID),--existing-hosted-zone-id $(EXISTING_HOSTED_ZONE_ID)) \
		$(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL)) \
		$(if $(LOG_RETENTION_DAYS),--log-retention-days $(LOG_RETENTION_DAYS)) \
		$(if $(THROTTLE_RATE),--throttle-rate $(THROTTLE_RATE)) $(if $(THROTTLE_BURST),--throttle-burst $(THROTTLE_BURST)) \
		$(if $(CERTIFICATE_ARN),--certificate-arn $(CERTIFICATE_ARN))

## undeploy: remove a stage's functions and API; its tables, zone and secrets stay
undeploy: venv
	$(if $(STAGE),,$(error STAGE=dev or STAGE=prod is required))
	$(BIN)/python scripts/deploy.py undeploy --stage $(STAGE) $(DEPLOY_OPTIONS)

## admin-password: print the bootstrap admin's password (from Secrets Manager)
admin-password: venv
	$(if $(STAGE),,$(error STAGE=dev or STAGE=prod is required))
	@$(BIN)/python scripts/deploy.py admin-password --stage $(STAGE) $(DEPLOY_OPTIONS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache out
