# One INTERFACE target that every Hourglass target links: language level, warnings
# and strict Qt defines live here and nowhere else (no global flags).
add_library(hourglass_config INTERFACE)
add_library(Hourglass::Config ALIAS hourglass_config)

target_compile_features(hourglass_config INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)

target_compile_options(hourglass_config INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
    $<$<BOOL:${HOURGLASS_WERROR}>:-Werror>)

target_compile_definitions(hourglass_config INTERFACE
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_NO_CAST_FROM_BYTEARRAY
    QT_NO_URL_CAST_FROM_STRING
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
    QT_NO_CONTEXTLESS_CONNECT
    QT_NO_FOREACH
    QT_NO_KEYWORDS
    QT_USE_QSTRINGBUILDER
    QT_STRICT_ITERATORS
    QT_DISABLE_DEPRECATED_UP_TO=0x060400
    HOURGLASS_VERSION="${PROJECT_VERSION}"
    HOURGLASS_APP_ID="${HOURGLASS_APP_ID}")

if(HOURGLASS_SANITIZE)
    target_compile_options(hourglass_config INTERFACE
        -fsanitize=${HOURGLASS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(hourglass_config INTERFACE -fsanitize=${HOURGLASS_SANITIZE})
endif()

if(HOURGLASS_FUZZ)
    # Coverage instrumentation for libFuzzer everywhere; only the fuzz targets link its main().
    target_compile_options(hourglass_config INTERFACE -fsanitize=fuzzer-no-link)
endif()
