# One command to run the service locally, one to run every test. See README.md.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | cksum | cut -d' ' -f1)
# `chalice package` needs a region, never credentials.
export AWS_DEFAULT_REGION ?= us-east-1

EMULATOR_VENV ?= .venv-emulator
EMULATOR_STAMP := $(EMULATOR_VENV)/.installed-$(shell cat requirements-emulator.txt | cksum | cut -d' ' -f1)

.PHONY: run reconcile test lint package-check deploy-check bench venv emulator-venv clean deploy undeploy admin-password

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

# The emulator of `make deploy-check` (LocalStack 2.3.2), in a virtualenv of its own: its whole
# closure, pinned, with --no-deps (requirements-emulator.txt says why), then checked.
emulator-venv: $(EMULATOR_STAMP)

$(EMULATOR_STAMP): requirements-emulator.txt
	$(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-emulator.txt
	$(EMULATOR_VENV)/bin/python -m pip check --disable-pip-version-check
	rm -f $(EMULATOR_VENV)/.installed-*
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

## deploy-check: `make deploy` for real, into an emulator, then use what it deployed
##   (scripts/deploy_check.py): a moto server (the data: infra stack, tables, zone, secrets) and
##   LocalStack in host mode (IAM, Lambda, API Gateway, EventBridge); `make deploy STAGE=dev` of
##   a copy of the project, pointed at them; the seed's curls, a subdomain registration and the
##   black-box tests through the deployed stage; a redeploy after a change; `make undeploy`;
##   everything it started stopped by process group. No AWS account, no Docker.
deploy-check: venv emulator-venv
	$(BIN)/python scripts/deploy_check.py --emulator-python $(EMULATOR_VENV)/bin/python

## bench: the performance figures (prints a table, writes bench/results/latest.json); not a test
bench: package-check
	$(BIN)/python bench/run.py

## test: everything CI runs. The suite runs on TEST_PROCESSES processes (pytest-xdist, a module
## per process at a time); the IAM policy tests then judge the AWS calls all of them made.
TEST_PROCESSES ?= 2
test: lint package-check
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile --aws-calls-out out/aws-calls.json
	$(BIN)/python -m pytest tests/test_iam_policy.py --aws-calls-in out/aws-calls.json

## deploy: the whole stage on AWS, created or updated (see infra/README.md):
##   make deploy STAGE=prod ZONE_DOMAIN=onezone.example.com [EXISTING_HOSTED_ZONE_ID=Z...] [REGION=eu-central-1]
##               [ALARM_EMAIL=ops@example.com] [LOG_RETENTION_DAYS=90] [THROTTLE_RATE=50] [THROTTLE_BURST=100]
##               [CERTIFICATE_ARN=arn:aws:acm:us-east-1:...]  (the front's; default: one is made and DNS-validated)
##               [FRONT=none]  (no CloudFront front: route the zone's host to both APIs yourself)
##   (deploy, undeploy: PROJECT_DIR=<dir> deploys that Chalice project instead of this checkout)
DEPLOY_OPTIONS = $(if $(REGION),--region $(REGION))
PROJECT_OPTION = $(if $(PROJECT_DIR),--project-dir $(PROJECT_DIR))
deploy: venv
	$(if $(STAGE),,$(error STAGE=dev or STAGE=prod is required))
	$(if $(ZONE_DOMAIN),,$(error ZONE_DOMAIN=... is required))
	$(BIN)/python scripts/deploy.py deploy --stage $(STAGE) --zone-domain $(ZONE_DOMAIN) $(DEPLOY_OPTIONS) $(PROJECT_OPTION) \
		$(if $(EXISTING_HOSTED_ZONE_ID),--existing-hosted-zone-id $(EXISTING_HOSTED_ZONE_ID)) \
		$(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL)) \
		$(if $(LOG_RETENTION_DAYS),--log-retention-days $(LOG_RETENTION_DAYS)) \
		$(if $(THROTTLE_RATE),--throttle-rate $(THROTTLE_RATE)) $(if $(THROTTLE_BURST),--throttle-burst $(THROTTLE_BURST)) \
		$(if $(CERTIFICATE_ARN),--certificate-arn $(CERTIFICATE_ARN)) $(if $(filter none,$(FRONT)),--no-front)

## undeploy: remove a stage's functions and API; its tables, zone and secrets stay
undeploy: venv
	$(if $(STAGE),,$(error STAGE=dev or STAGE=prod is required))
	$(BIN)/python scripts/deploy.py undeploy --stage $(STAGE) $(DEPLOY_OPTIONS) $(PROJECT_OPTION)

## admin-password: print the bootstrap admin's password (from Secrets Manager)
admin-password: venv
	$(if $(STAGE),,$(error STAGE=dev or STAGE=prod is required))
	@$(BIN)/python scripts/deploy.py admin-password --stage $(STAGE) $(DEPLOY_OPTIONS)

clean:
	rm -rf $(VENV) $(EMULATOR_VENV) .pytest_cache .ruff_cache out
