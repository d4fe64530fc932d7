# Per-generator settings (read by cpack for each generator).
if(CPACK_GENERATOR STREQUAL "TGZ")
    # Only the relocatable files; /etc and the systemd unit travel as examples in share/doc.
    set(CPACK_COMPONENTS_ALL main)
    set(CPACK_ARCHIVE_MAIN_FILE_NAME "${CPACK_PACKAGE_FILE_NAME}")
    set(CPACK_PACKAGING_INSTALL_PREFIX "/hourglass-${CPACK_PACKAGE_VERSION}")
elseif(CPACK_GENERATOR STREQUAL "DEB")
    set(CPACK_DEB_COMPONENT_INSTALL OFF)
endif()
