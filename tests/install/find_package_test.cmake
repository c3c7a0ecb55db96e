# ctest Install.FindPackageConsumerBuildsAndRuns: `cmake --install` of this build into a scratch prefix, then
# examples/find_package/ (another CMake project) finds it with find_package(elsa), builds against elsa::core
# and runs on configs/own_data.toml; the installed program answers --version.
#   cmake -DBUILD_DIR=build -DSOURCE_DIR=. -P tests/install/find_package_test.cmake
set(prefix ${BUILD_DIR}/install-test/prefix)
set(consumer ${BUILD_DIR}/install-test/consumer)
file(REMOVE_RECURSE ${BUILD_DIR}/install-test)

function(run_step what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f bin/elsa share/elsa/make_certs.sh include/elsa/core/run/run_config.hpp include/elsa/messages/types.hpp lib/cmake/elsa/elsaConfig.cmake
          lib/cmake/elsa/elsaTargets.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()
file(READ ${prefix}/lib/cmake/elsa/elsaTargets.cmake targets)
string(FIND "${targets}" "${SOURCE_DIR}" leak)
if(NOT leak EQUAL -1)
  message(FATAL_ERROR "the installed targets name the source tree ${SOURCE_DIR}; they must use the prefix only")
endif()

run_step("configuring examples/find_package" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/find_package -B ${consumer}
         -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run_step("building examples/find_package" ${CMAKE_COMMAND} --build ${consumer})
run_step("elsa_consumer configs/own_data.toml" ${consumer}/elsa_consumer configs/own_data.toml)
foreach(expected "task eras: 2 labels (" "client 0: " "client 3: ")
  string(FIND "${step_output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "elsa_consumer printed no '${expected}':\n${step_output}")
  endif()
endforeach()
run_step("installed elsa --version" ${prefix}/bin/elsa --version)
string(FIND "${step_output}" "elsa 0." at)
if(at EQUAL -1)
  message(FATAL_ERROR "installed elsa --version printed:\n${step_output}")
endif()
message(STATUS "installed, found, built and ran: ${prefix}")
