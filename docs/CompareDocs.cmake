# Fails with a clear message when a committed generated page differs from the
# one the build just generated from ODS.
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${GENERATED} ${COMMITTED}
                RESULT_VARIABLE differs)
if(differs)
  message(FATAL_ERROR "${COMMITTED} is stale (or missing): it differs from "
    "${GENERATED}, generated from ODS. Run scripts/update-docs.sh and commit.")
endif()
