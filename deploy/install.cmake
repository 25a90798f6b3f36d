# What `cmake --install` puts where, and the Debian package `cpack -G DEB`
# makes of it (included by the top CMakeLists.txt). With the prefix /usr
# (the package's) every file lands where Debian looks for it:
#   /usr/sbin/sctpgw                               the daemon
#   /usr/share/man/man8/sctpgw.8.gz, man5/sctpgw.ini.5.gz
#   /usr/lib/systemd/system/sctpgw@.service        runs /etc/sctpgw/NAME.ini
#   /usr/lib/modules-load.d/sctp.conf              sctp loaded at boot
#   /usr/lib/sysctl.d/60-sctpgw.conf               I-DATA, SCTP-AUTH, PF, socket buffer caps
#   /usr/share/doc/sctpgw/examples/*.ini           the commented examples
# Nothing goes to /etc: /etc/sctpgw is the operator's (the package's
# postinst creates it, empty, if it is missing).

install(TARGETS sctpgw RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})

# The unit names the binary by its installed path, known only at install
# time (cpack installs with the prefix /usr whatever the tree's is). The
# copy written at each install is removed first: one left by an install as
# root would otherwise stop the tree's owner from writing it.
set(unit_src ${PROJECT_SOURCE_DIR}/deploy/systemd/sctpgw@.service)
set(unit_out ${PROJECT_BINARY_DIR}/deploy/sctpgw@.service)
install(CODE "
  file(READ \"${unit_src}\" unit)
  string(REPLACE \"/usr/sbin/sctpgw\"
    \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/sctpgw\" unit \"\${unit}\")
  file(REMOVE \"${unit_out}\")
  file(WRITE \"${unit_out}\" \"\${unit}\")")
install(FILES ${unit_out} DESTINATION lib/systemd/system)
install(FILES deploy/modules-load.d/sctp.conf DESTINATION lib/modules-load.d)
install(FILES deploy/sysctl.d/60-sctpgw.conf DESTINATION lib/sysctl.d)
install(FILES config/site-a.ini config/site-b.ini config/hub.ini
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# ---- the Debian package -------------------------------------------------
set(SCTPGW_PACKAGE_MAINTAINER "sctpgw maintainers <root@localhost>" CACHE STRING
  "Maintainer field of the Debian package")
set(CPACK_PACKAGE_NAME sctpgw)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SCTPGW_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "TCP-to-SCTP multihoming gateway")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "Two gateways at the two ends of a network with several links carry every\n"
  "TCP connection as its own stream of one multihomed SCTP association: when\n"
  "a link dies traffic moves to another within a time budget, with no byte\n"
  "lost and no connection dropped. Flows are encrypted (Noise handshake,\n"
  "ChaCha20-Poly1305, SCTP-AUTH) by default.")
set(CPACK_STRIP_FILES TRUE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # sctpgw_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries the binary links (libuv1, libsctp1, libinih1, libsodium23,
# libsystemd0, libc6) as dpkg-shlibdeps finds them, with their versions;
# listed by hand where it is missing. adduser is for the postinst, procps
# for the unit's reload (/bin/kill).
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "adduser, procps, libc6, libuv1, libsctp1, libinih1, libsodium23, libsystemd0")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
  ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
  ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
