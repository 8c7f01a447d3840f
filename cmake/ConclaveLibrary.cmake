# Helpers shared by every shared library the project builds. The soname,
# version and library name come from generated/<service>/<service>.cmake,
# which the generator writes from the IDL's `library` statement.

macro(conclave_library_settings service)
	include(${CONCLAVE_GENERATED}/${service}/${service}.cmake)
endmacro()

# Sets the soname and version, links through the generated version script so
# only the IDL's public functions are exported, refuses undefined symbols, and
# installs the library with its pkg-config file.
function(conclave_finish_library target service)
	set(map ${CONCLAVE_GENERATED}/${service}/lib${CONCLAVE_LIBRARY_${service}}.map)
	set_target_properties(${target} PROPERTIES
		OUTPUT_NAME ${CONCLAVE_LIBRARY_${service}}
		SOVERSION ${CONCLAVE_SOVERSION_${service}}
		VERSION ${CONCLAVE_VERSION_${service}}
		LINK_DEPENDS ${map})
	target_link_options(${target} PRIVATE -Wl,--version-script=${map} -Wl,--no-undefined)

	set(pc lib${CONCLAVE_LIBRARY_${service}}.pc)
	configure_file(${CONCLAVE_GENERATED}/${service}/${pc}.in ${PROJECT_BINARY_DIR}/pkgconfig/${pc} @ONLY)
	install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
	install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${pc} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()
