// IpCounts: the per-IP session counts, against a reference map under random churn.

#include "IpAddress.h"
#include "IpCounts.h"

#include <QtTest>

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace hourglass;

namespace {

std::string ipv4(std::uint32_t address)
{
    char text[INET_ADDRSTRLEN];
    const std::uint32_t network = htonl(address);
    inet_ntop(AF_INET, &network, text, sizeof text);
    return text;
}

std::string ipv6(std::uint64_t high, std::uint64_t low)
{
    std::uint8_t bytes[16];
    for (int i = 0; i < 8; ++i) {
        bytes[i] = std::uint8_t(high >> (56 - 8 * i));
        bytes[8 + i] = std::uint8_t(low >> (56 - 8 * i));
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, bytes, text, sizeof text);
    return text;
}

} // namespace

class TestIpCounts : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // parseIp reads IPv4 itself: it must accept exactly what inet_pton accepts, with the same
    // bytes, over exactly the text given (inet_pton stops at a NUL; parseIp refuses one).
    void parsesAsInetPtonDoes()
    {
        const auto reference = [](const std::string &text, std::uint32_t &v4, std::uint8_t(&v6)[16]) {
            if (text.find('\0') != std::string::npos)
                return IpFamily::None;
            if (inet_pton(AF_INET, text.c_str(), &v4) == 1)
                return IpFamily::V4;
            if (text.size() < INET6_ADDRSTRLEN && inet_pton(AF_INET6, text.c_str(), v6) == 1)
                return IpFamily::V6;
            return IpFamily::None;
        };
        std::vector<std::string> texts = {"0.0.0.0",
                                          "255.255.255.255",
                                          "1.2.3.4",
                                          "10.1.23.45",
                                          "01.2.3.4",
                                          "1.2.3.04",
                                          "1.2.3.0",
                                          "256.1.1.1",
                                          "1.2.3",
                                          "1.2.3.4.",
                                          ".1.2.3.4",
                                          "1..2.3",
                                          "1.2.3.4.5",
                                          "1.2.3.-4",
                                          "1.2.3.4 ",
                                          " 1.2.3.4",
                                          "",
                                          "1.2.3.1000",
                                          "999.1.1.1",
                                          "0x1.2.3.4",
                                          "1.2.3.4\0",
                                          "::1",
                                          "::ffff:1.2.3.4",
                                          "2001:db8::1",
                                          "fe80::1%eth0",
                                          "1.2.3.a"};
        texts.push_back(std::string("1.2.3.4") + '\0');       // inet_pton would read "1.2.3.4"
        texts.push_back(std::string("1.2.3.4") + '\0' + "5"); // and here too
        // Random strings over the characters that matter, of the lengths that matter.
        std::mt19937_64 random(42);
        const std::string alphabet = "0123456789.:abcdef%";
        for (int i = 0; i < 200000; ++i) {
            std::string text;
            const std::size_t length = random() % 18;
            for (std::size_t k = 0; k < length; ++k)
                text += alphabet[random() % alphabet.size()];
            texts.push_back(text);
        }
        // Random dotted quads, some with out-of-range or zero-padded octets.
        for (int i = 0; i < 100000; ++i) {
            std::string text;
            for (int k = 0; k < 4; ++k) {
                const unsigned octet = unsigned(random() % 300);
                text += (k ? "." : "") + std::string(random() % 8 == 0 ? "0" : "") + std::to_string(octet);
            }
            texts.push_back(text);
        }
        int v4s = 0;
        for (const std::string &text : texts) {
            std::uint32_t a = 0, b = 0;
            std::uint8_t a6[16] = {}, b6[16] = {};
            const IpFamily got = parseIp(text, a, a6);
            const IpFamily want = reference(text, b, b6);
            QVERIFY2(got == want, qPrintable(QString::fromStdString(text)));
            if (got == IpFamily::V4) {
                QCOMPARE(a, b);
                ++v4s;
            }
            if (got == IpFamily::V6)
                QVERIFY(std::memcmp(a6, b6, 16) == 0);
            QCOMPARE(isIpAddress(text), got != IpFamily::None);
        }
        QVERIFY(v4s > 20000); // about a third of the quads are valid
    }

    void countsEachAddressAndForgetsItAtZero()
    {
        IpCounts counts;
        QCOMPARE(counts.count("192.0.2.1"), std::size_t(0));
        counts.add("192.0.2.1");
        counts.add("192.0.2.1");
        counts.add("192.0.2.2");
        QCOMPARE(counts.count("192.0.2.1"), std::size_t(2));
        QCOMPARE(counts.count("192.0.2.2"), std::size_t(1));
        QCOMPARE(counts.size(), std::size_t(2));
        counts.remove("192.0.2.1");
        QCOMPARE(counts.count("192.0.2.1"), std::size_t(1));
        counts.remove("192.0.2.1");
        QCOMPARE(counts.count("192.0.2.1"), std::size_t(0));
        QCOMPARE(counts.size(), std::size_t(1));
        counts.remove("192.0.2.1"); // not counted: ignored, never negative
        counts.remove("198.51.100.7");
        QCOMPARE(counts.count("192.0.2.1"), std::size_t(0));
        QCOMPARE(counts.count("192.0.2.2"), std::size_t(1));
        QCOMPARE(counts.size(), std::size_t(1));
    }

    void spellingsOfOneAddressAreOneAddressAndFamiliesStayApart()
    {
        IpCounts counts;
        counts.add("2001:db8::1");
        counts.add("2001:0db8:0000::0001");
        counts.add("2001:DB8::1");
        QCOMPARE(counts.count("2001:db8:0:0:0:0:0:1"), std::size_t(3));
        QCOMPARE(counts.size(), std::size_t(1));
        // An IPv4 address and its IPv4-mapped IPv6 form are counted apart, as the text differs in
        // family; so are 1.2.3.4 and ::1.2.3.4.
        counts.add("192.0.2.1");
        QCOMPARE(counts.count("::ffff:192.0.2.1"), std::size_t(0));
        QCOMPARE(counts.count("::192.0.2.1"), std::size_t(0));
        counts.add("::ffff:192.0.2.1");
        QCOMPARE(counts.count("192.0.2.1"), std::size_t(1));
        QCOMPARE(counts.count("::ffff:c000:201"), std::size_t(1));
        QCOMPARE(counts.size(), std::size_t(3));
    }

    void textThatIsNotAnAddressIsCountedByItsText()
    {
        IpCounts counts;
        for (const char *text : {"", "not an address", "fe80::1%eth0", "192.0.2.1 ", "0x7f.1", "1.2.3"}) {
            counts.add(text);
            counts.add(text);
            QCOMPARE(counts.count(text), std::size_t(2));
        }
        QCOMPARE(counts.count("fe80::1"), std::size_t(0)); // the zone makes it another text
        QCOMPARE(counts.count("192.0.2.1"), std::size_t(0));
        QCOMPARE(counts.size(), std::size_t(6));
        counts.remove("not an address");
        counts.remove("not an address");
        QCOMPARE(counts.count("not an address"), std::size_t(0));
        QCOMPARE(counts.size(), std::size_t(5));
        // Longer than any address: not parsed, still counted exactly.
        const std::string longText(200, 'x');
        counts.add(longText);
        QCOMPARE(counts.count(longText), std::size_t(1));
    }

    void agreesWithAReferenceMapUnderRandomChurn_data()
    {
        QTest::addColumn<int>("pool");
        QTest::newRow("few addresses, long probe runs near the growth threshold") << 40;
        QTest::newRow("many addresses") << 20000;
    }

    void agreesWithAReferenceMapUnderRandomChurn()
    {
        QFETCH(int, pool);
        std::mt19937_64 random(pool);
        std::vector<std::string> addresses;
        for (int i = 0; i < pool; ++i) {
            if (i % 3 == 0)
                addresses.push_back(ipv6(random(), random()));
            else
                addresses.push_back(ipv4(std::uint32_t(random())));
        }
        IpCounts counts;
        std::map<std::string, std::size_t> reference; // text from inet_ntop: one spelling per address
        for (int step = 0; step < 200000; ++step) {
            const std::string &address = addresses[random() % addresses.size()];
            // More removals than additions once half the pool is counted: the count hovers there,
            // rows come and go, and deletions shift rows across the end of the table.
            if (random() % 100 < (reference.size() * 2 > std::size_t(pool) ? 55u : 35u)) {
                counts.remove(address);
                if (auto it = reference.find(address); it != reference.end() && --it->second == 0)
                    reference.erase(it);
            } else {
                counts.add(address);
                ++reference[address];
            }
            if (step % 997 == 0 || step == 199999) {
                QCOMPARE(counts.size(), reference.size());
                for (const std::string &a : addresses) {
                    const auto it = reference.find(a);
                    const std::size_t expected = it == reference.end() ? 0 : it->second;
                    if (counts.count(a) != expected)
                        QFAIL(qPrintable(QStringLiteral("%1 counted %2, expected %3 at step %4")
                                             .arg(QString::fromStdString(a))
                                             .arg(counts.count(a))
                                             .arg(expected)
                                             .arg(step)));
                }
            }
        }
        QVERIFY(!reference.empty());
        // Emptied completely, it holds nothing and counts nothing.
        for (const auto &[address, n] : reference) {
            for (std::size_t i = 0; i < n; ++i)
                counts.remove(address);
        }
        QCOMPARE(counts.size(), std::size_t(0));
        for (const std::string &a : addresses)
            QCOMPARE(counts.count(a), std::size_t(0));
    }

    void aMillionIpv4AddressesTakeAtMostFourteenBytesEach()
    {
        IpCounts counts;
        constexpr std::uint32_t kAddresses = 1'000'000;
        for (std::uint32_t i = 0; i < kAddresses; ++i)
            counts.add(ipv4(0x0a000000u + i));
        QCOMPARE(counts.size(), std::size_t(kAddresses));
        // 8-byte rows at least 7/12 full: 13.7 bytes an address at most.
        const double bytesPerAddress = double(counts.tableBytes()) / kAddresses;
        QVERIFY2(bytesPerAddress <= 13.72, qPrintable(QString::number(bytesPerAddress)));
        QCOMPARE(counts.count("10.0.0.0"), std::size_t(1));
        QCOMPARE(counts.count(ipv4(0x0a000000u + kAddresses - 1)), std::size_t(1));
        QCOMPARE(counts.count(ipv4(0x0a000000u + kAddresses)), std::size_t(0));
    }

    void ipv6AddressesTakeAtMostThirtyFiveBytesEach()
    {
        IpCounts counts;
        constexpr std::uint64_t kAddresses = 100'000;
        for (std::uint64_t i = 0; i < kAddresses; ++i)
            counts.add(ipv6(0x20010db800000000ull, i));
        QCOMPARE(counts.size(), std::size_t(kAddresses));
        const double bytesPerAddress = double(counts.tableBytes()) / kAddresses;
        QVERIFY2(bytesPerAddress <= 34.3, qPrintable(QString::number(bytesPerAddress)));
        QCOMPARE(counts.count(ipv6(0x20010db800000000ull, kAddresses - 1)), std::size_t(1));
        QCOMPARE(counts.count(ipv6(0x20010db800000000ull, kAddresses)), std::size_t(0));
    }

    void tablesShrinkWhenAskedAfterAMassRemovalAndKeepTheirCounts()
    {
        IpCounts counts;
        constexpr std::uint32_t kAddresses = 100'000, kKept = 1000;
        for (std::uint32_t i = 0; i < kAddresses; ++i) {
            counts.add(ipv4(0xac100000u + i));
            counts.add(ipv6(0xfd00000000000000ull, i));
        }
        const std::size_t fullBytes = counts.tableBytes();
        const std::size_t fullRows4 = counts.rows4();
        for (std::uint32_t i = kKept; i < kAddresses; ++i) {
            counts.remove(ipv4(0xac100000u + i));
            counts.remove(ipv6(0xfd00000000000000ull, i));
        }
        QCOMPARE(counts.size(), std::size_t(2 * kKept));
        // A removal never rehashes (the engine removes under a shard lock): the rows stay until
        // the owner asks.
        QCOMPARE(counts.rows4(), fullRows4);
        QCOMPARE(counts.tableBytes(), fullBytes);
        counts.shrinkIfSparse();
        // At most four rows an address once shrunk (a table halves when under a quarter full).
        QVERIFY2(counts.rows4() <= 4 * kKept, qPrintable(QString::number(counts.rows4())));
        QVERIFY2(counts.tableBytes() * 20 < fullBytes,
                 qPrintable(QStringLiteral("%1 of %2").arg(counts.tableBytes()).arg(fullBytes)));
        QVERIFY(counts.rows4() < fullRows4);
        for (std::uint32_t i = 0; i < kAddresses; ++i) {
            const std::size_t expected = i < kKept ? 1 : 0;
            QCOMPARE(counts.count(ipv4(0xac100000u + i)), expected);
            QCOMPARE(counts.count(ipv6(0xfd00000000000000ull, i)), expected);
        }
        for (std::uint32_t i = 0; i < kKept; ++i) {
            counts.remove(ipv4(0xac100000u + i));
            counts.remove(ipv6(0xfd00000000000000ull, i));
        }
        QCOMPARE(counts.size(), std::size_t(0));
        counts.shrinkIfSparse();
        QCOMPARE(counts.tableBytes(), std::size_t(0)); // emptied: nothing held
    }

    void reserveSizesTheTableOnce()
    {
        IpCounts counts;
        counts.reserve(10000);
        const std::size_t rows = counts.rows4();
        QVERIFY(rows * 7 >= 10000 * 8);
        for (std::uint32_t i = 0; i < 10000; ++i)
            counts.add(ipv4(0xc0a80000u + i));
        QCOMPARE(counts.rows4(), rows);
        counts.clear();
        QCOMPARE(counts.size(), std::size_t(0));
        QCOMPARE(counts.count("192.168.0.1"), std::size_t(0));
    }
};

QTEST_APPLESS_MAIN(TestIpCounts)
#include "tst_ipcounts.moc"
