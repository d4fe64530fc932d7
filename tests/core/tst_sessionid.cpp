#include "RandomSource.h"
#include "SessionId.h"
#include "TestRandom.h"

#include <QTest>

#include <array>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <openssl/evp.h>
#include <random>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>

using namespace hourglass;

class TestSessionId final : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void generatedTokensAre256BitBase64Url()
    {
        const auto token = SessionToken::generate(OpenSslRandom::instance());
        QVERIFY(token.has_value());
        QCOMPARE(token->text().size(), SessionToken::kEncodedLength);
        const auto raw = base64UrlDecode(token->text());
        QVERIFY(raw.has_value());
        QCOMPARE(raw->size(), std::size_t(32));
        for (const char c : token->text())
            QVERIFY(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
    }

    void generatedTokensDoNotRepeat()
    {
        std::unordered_set<std::string> seen;
        for (int i = 0; i < 100000; ++i) {
            const auto token = SessionToken::generate(OpenSslRandom::instance());
            QVERIFY(token.has_value());
            QVERIFY(seen.insert(token->text()).second);
        }
    }

    // OpenSslRandom hands out blocks drawn per thread: bytes never repeat across threads, odd
    // sizes and sizes larger than a block; a forked child does not get the parent's next bytes.
    void openSslRandomNeverHandsOutBytesTwice()
    {
        OpenSslRandom &random = OpenSslRandom::instance();
        std::mutex mutex;
        std::unordered_set<std::string> seen;
        bool unique = true;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                std::vector<std::string> mine;
                for (int i = 0; i < 20000; ++i) {
                    std::string bytes(std::size_t(16 + (i + t) % 17), '\0'); // 16..32 bytes
                    if (!random.fill(reinterpret_cast<std::uint8_t *>(bytes.data()), bytes.size()))
                        bytes.clear();
                    mine.push_back(bytes.substr(0, 16)); // 128 bits: a repeat means bytes reused
                }
                std::lock_guard lock(mutex);
                for (auto &b : mine)
                    unique = unique && b.size() == 16 && seen.insert(std::move(b)).second;
            });
        }
        for (auto &t : threads)
            t.join();
        QVERIFY(unique);
        std::string large(100000, '\0');
        QVERIFY(random.fill(reinterpret_cast<std::uint8_t *>(large.data()), large.size()));
        QVERIFY(seen.insert(large.substr(0, 16)).second);
        QVERIFY(large.find(std::string(64, '\0')) == std::string::npos);

        std::uint8_t first[32];
        QVERIFY(random.fill(first, sizeof first)); // this thread now holds the rest of a block
        int fds[2];
        QCOMPARE(::pipe(fds), 0);
        const pid_t child = ::fork();
        if (child == 0) {
            std::uint8_t drawn[32] = {};
            const bool ok = random.fill(drawn, sizeof drawn);
            const ssize_t written = ok ? ::write(fds[1], drawn, sizeof drawn) : 0;
            ::_exit(written == ssize_t(sizeof drawn) ? 0 : 1);
        }
        QVERIFY(child > 0);
        ::close(fds[1]);
        std::uint8_t parent[32];
        QVERIFY(random.fill(parent, sizeof parent));
        std::uint8_t fromChild[32] = {};
        QCOMPARE(::read(fds[0], fromChild, sizeof fromChild), ssize_t(sizeof fromChild));
        ::close(fds[0]);
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        QVERIFY(std::memcmp(parent, fromChild, sizeof parent) != 0);
    }

    void failingRandomIssuesNothing()
    {
        test::SwitchableRandom random;
        random.setFailing(true);
        QVERIFY(!SessionToken::generate(random).has_value());
    }

    void parserIsStrict_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("valid");
        const QByteArray good = QByteArray(SessionToken::generate(OpenSslRandom::instance())->text().c_str());
        QTest::newRow("issued") << good << true;
        QTest::newRow("empty") << QByteArray() << false;
        QTest::newRow("one short") << good.left(42) << false;
        QTest::newRow("one long") << (good + "A") << false;
        QTest::newRow("padding") << (good.left(42) + "=") << false;
        QTest::newRow("plus") << (QByteArray("+") + good.mid(1)) << false;
        QTest::newRow("slash") << (QByteArray("/") + good.mid(1)) << false;
        QTest::newRow("space") << (QByteArray(" ") + good.mid(1)) << false;
        QTest::newRow("nul") << (QByteArray(1, '\0') + good.mid(1)) << false;
        // 32 bytes use 256 of 258 bits: the last character's two low bits must be zero.
        QTest::newRow("non-canonical tail") << (good.left(42) + "B") << false;
        QTest::newRow("canonical tail") << (good.left(42) + "A") << true;
    }

    void parserIsStrict()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, valid);
        QCOMPARE(
            SessionToken::parse(std::string_view(text.constData(), std::size_t(text.size()))).has_value(),
            valid);
    }

    void everyByteAtEveryPositionIsChecked()
    {
        // Each of the 256 byte values in each of the 43 places of an issued token: accepted
        // exactly when it is a base64url digit (in the last place, one of the 16 with the two
        // unused bits clear). The check reads 16 characters at a time, in overlapping blocks.
        const std::string good = SessionToken::generate(OpenSslRandom::instance())->text();
        const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (std::size_t place = 0; place < good.size(); ++place) {
            for (int value = 0; value < 256; ++value) {
                std::string text = good;
                text[place] = static_cast<char>(value);
                const std::size_t digit = alphabet.find(static_cast<char>(value));
                const bool expected =
                    digit != std::string::npos && (place + 1 < good.size() || (digit & 3) == 0);
                QVERIFY2(SessionToken::isWellFormed(text) == expected,
                         qPrintable(QStringLiteral("byte %1 at %2").arg(value).arg(place)));
                QCOMPARE(SessionToken::hashOf(text).has_value(), expected);
            }
        }
    }

    void hashIsSha256OfTheToken()
    {
        // FIPS 180-2 test vector.
        QCOMPARE(QByteArray::fromStdString(sha256("abc").toHex()),
                 QByteArray("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        const auto token = SessionToken::generate(OpenSslRandom::instance());
        QCOMPARE(token->hash(), sha256(token->text()));
    }

    void hashMatchesOpenSslEvp()
    {
        // sha256() takes OpenSSL's low-level functions (faster than EVP in OpenSSL 3.0): it must
        // agree with EVP's SHA-256 on every length around the block boundaries, and beyond.
        std::mt19937_64 random(99);
        std::string data;
        for (std::size_t length = 0; length <= 300; ++length) {
            std::array<std::uint8_t, IdHash::kSize> expected{};
            unsigned int size = 0;
            QVERIFY(EVP_Digest(data.data(), data.size(), expected.data(), &size, EVP_sha256(), nullptr) == 1);
            QCOMPARE(size, unsigned(IdHash::kSize));
            QVERIFY2(sha256(data) == IdHash(expected), qPrintable(QString::number(length)));
            data.push_back(static_cast<char>(random()));
        }
    }

    void hexRoundTrip()
    {
        const IdHash h = sha256("hourglass");
        QCOMPARE(IdHash::fromHex(h.toHex()), std::optional<IdHash>(h));
        std::string upper = h.toHex();
        for (char &c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        QCOMPARE(IdHash::fromHex(upper), std::optional<IdHash>(h));
        QVERIFY(!IdHash::fromHex(h.toHex().substr(1)).has_value());
        QVERIFY(!IdHash::fromHex(std::string(64, 'g')).has_value());
    }

    // The hex writer works 16 bytes at a time: every byte value at every position, against
    // snprintf's lower-case hex, and nothing written past the 64 digits.
    void hexOfEveryByteAtEveryPosition()
    {
        for (std::size_t position = 0; position < IdHash::kSize; ++position) {
            for (int value = 0; value < 256; ++value) {
                std::array<std::uint8_t, IdHash::kSize> bytes{};
                for (std::size_t i = 0; i < bytes.size(); ++i)
                    bytes[i] = static_cast<std::uint8_t>(0xa5 ^ (i * 37));
                bytes[position] = static_cast<std::uint8_t>(value);
                std::string expected;
                for (const std::uint8_t b : bytes) {
                    char two[3];
                    std::snprintf(two, sizeof two, "%02x", b);
                    expected += two;
                }
                std::string out(80, '#');
                const char *const end = IdHash(bytes).writeHex(out.data());
                QCOMPARE(end - out.data(), std::ptrdiff_t(64));
                QCOMPARE(out.substr(0, 64), expected);
                QCOMPARE(out.substr(64), std::string(16, '#'));
                QCOMPARE(IdHash(bytes).toHex(), expected);
            }
        }
    }

    void hashEqualityComparesEveryByte()
    {
        IdHash a = sha256("x");
        auto bytes = a.bytes();
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            for (const std::uint8_t bit : {0x01, 0x80}) {
                bytes[i] ^= bit;
                QVERIFY2(!(a == IdHash(bytes)), qPrintable(QString::number(i)));
                bytes[i] ^= bit;
            }
        }
        QVERIFY(a == IdHash(bytes));
    }

    void base64UrlRoundTrip()
    {
        for (std::size_t n = 0; n < 40; ++n) {
            std::string data(n, '\0');
            for (std::size_t i = 0; i < n; ++i)
                data[i] = static_cast<char>(i * 37 + 11);
            const std::string encoded =
                base64UrlEncode(reinterpret_cast<const std::uint8_t *>(data.data()), n);
            QCOMPARE(encoded.find('='), std::string::npos);
            QCOMPARE(base64UrlDecode(encoded), std::optional<std::string>(data));
        }
    }

    void base64UrlEncodesTheRfc4648Vectors()
    {
        // RFC 4648, section 10, without padding; and bytes that use the URL alphabet's '-' and '_'.
        const std::pair<std::string, std::string> vectors[] = {
            {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
            {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff\xbf", "-_-_"},
        };
        for (const auto &[data, expected] : vectors) {
            QCOMPARE(base64UrlEncode(reinterpret_cast<const std::uint8_t *>(data.data()), data.size()),
                     expected);
            QCOMPARE(base64UrlDecode(expected), std::optional<std::string>(data));
        }
    }
};

QTEST_GUILESS_MAIN(TestSessionId)
#include "tst_sessionid.moc"
