# Monitoring-artefact tests: Prometheus rules, Alertmanager config, Grafana
# dashboard, and the end-to-end alerting test.  include()d from
# tests/CMakeLists.txt; uses AIUSAGE_EXPORTER_BIN (path or generator
# expression of the built exporter) and PROJECT_SOURCE_DIR (repo root).
#
# Needs the Debian packages prometheus (promtool, prometheus),
# prometheus-alertmanager (amtool, prometheus-alertmanager) and python3
# (stdlib only); scripts/install-deps.sh installs them.  A missing tool is
# reported at configure time and makes the tests that need it fail.
#
#   ctest -L monitoring        # everything below
#   ctest -R e2e_alerting -V   # only the end-to-end test, verbose

set(_aiu_e2e_dir ${CMAKE_CURRENT_LIST_DIR})
set(_aiu_root ${PROJECT_SOURCE_DIR})
if(NOT DEFINED AIUSAGE_EXPORTER_BIN)
  set(AIUSAGE_EXPORTER_BIN $<TARGET_FILE:ai-usage-exporter>)
endif()

function(_aiu_find_tool var name package)
  find_program(${var} NAMES ${name} ${ARGN})
  if(NOT ${var})
    message(WARNING "${name} not found (Debian package ${package}); the tests that need it will fail")
    set(${var} ${name} CACHE FILEPATH "" FORCE)
  endif()
endfunction()

_aiu_find_tool(AIUSAGE_PROMTOOL promtool prometheus)
_aiu_find_tool(AIUSAGE_AMTOOL amtool prometheus-alertmanager)
_aiu_find_tool(AIUSAGE_PROMETHEUS prometheus prometheus)
_aiu_find_tool(AIUSAGE_ALERTMANAGER prometheus-alertmanager prometheus-alertmanager alertmanager)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  set(_aiu_python ${Python3_EXECUTABLE})
else()
  _aiu_find_tool(AIUSAGE_PYTHON3 python3 python3)
  set(_aiu_python ${AIUSAGE_PYTHON3})
endif()

# --- Prometheus rules -------------------------------------------------------
add_test(NAME rules_check_recording
  COMMAND ${AIUSAGE_PROMTOOL} check rules ${_aiu_root}/rules/ai-usage.rules.yml)
add_test(NAME rules_check_alerts
  COMMAND ${AIUSAGE_PROMTOOL} check rules ${_aiu_root}/rules/ai-usage.alerts.yml)
set(_aiu_tests rules_check_recording rules_check_alerts)

file(GLOB _aiu_rule_tests CONFIGURE_DEPENDS ${_aiu_root}/rules/tests/*.yml)
foreach(_t IN LISTS _aiu_rule_tests)
  get_filename_component(_stem ${_t} NAME_WE)
  add_test(NAME rules_unit_${_stem} COMMAND ${AIUSAGE_PROMTOOL} test rules ${_t})
  list(APPEND _aiu_tests rules_unit_${_stem})
endforeach()

add_test(NAME rules_lint
  COMMAND ${_aiu_python} ${_aiu_e2e_dir}/lint_rules.py
          ${_aiu_root}/rules/ai-usage.alerts.yml ${_aiu_root}/rules/ai-usage.rules.yml
          ${_aiu_root}/docs/runbook.md)
list(APPEND _aiu_tests rules_lint)

# --- Alertmanager -----------------------------------------------------------
add_test(NAME alertmanager_check_config
  COMMAND ${AIUSAGE_AMTOOL} check-config ${_aiu_root}/config/alertmanager.yml)
foreach(_sev critical warning)
  add_test(NAME alertmanager_route_${_sev}
    COMMAND ${AIUSAGE_AMTOOL} config routes test --config.file=${_aiu_root}/config/alertmanager.yml
            --verify.receivers=${_sev} alertname=AIUsageQuotaExhausted severity=${_sev}
            scope=user subject=u1 resource=tokens)
  list(APPEND _aiu_tests alertmanager_route_${_sev})
endforeach()
list(APPEND _aiu_tests alertmanager_check_config)

# --- Grafana ----------------------------------------------------------------
add_test(NAME dashboard_lint
  COMMAND ${_aiu_python} ${_aiu_e2e_dir}/lint_dashboard.py ${_aiu_root}/grafana/ai-usage.json
          --promtool ${AIUSAGE_PROMTOOL})
list(APPEND _aiu_tests dashboard_lint)

# --- End to end: exporter -> Prometheus -> Alertmanager -> webhook ------------
add_test(NAME e2e_alerting
  COMMAND ${_aiu_python} ${_aiu_e2e_dir}/e2e_test.py
          --exporter ${AIUSAGE_EXPORTER_BIN} --repo ${_aiu_root}
          --prometheus ${AIUSAGE_PROMETHEUS} --alertmanager ${AIUSAGE_ALERTMANAGER})
# the script limits itself to 55 s; the ctest timeout is only a backstop
set_tests_properties(e2e_alerting PROPERTIES TIMEOUT 120 LABELS "monitoring;e2e")

set_tests_properties(${_aiu_tests} PROPERTIES TIMEOUT 60 LABELS monitoring)
