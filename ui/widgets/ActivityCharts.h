#pragma once

#include "SessionEngine.h"

#include <QWidget>

#include <deque>

class QChart;
class QDateTimeAxis;
class QLineSeries;
class QValueAxis;

namespace hourglass::ui {

// Two Qt Charts over the last ten minutes: active sessions, and creations, validations and
// rejections per second. Fed one counters sample at a time (the Sessions page samples once a
// second); rates are differences between consecutive samples divided by the time between them.
class ActivityCharts final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ActivityCharts)

public:
    static constexpr TimeMs kWindowMs = 10 * 60 * 1000;

    explicit ActivityCharts(QWidget *parent = nullptr);
    ~ActivityCharts() override;

    void addSample(TimeMs timeMs, const EngineCounters &counters);
    void clear();

    // The plotted series (tests read their points).
    QLineSeries *activeSeries() const { return m_active; }
    QLineSeries *creationsSeries() const { return m_creations; }
    QLineSeries *validationsSeries() const { return m_validations; }
    QLineSeries *rejectionsSeries() const { return m_rejections; }

private:
    struct Sample
    {
        TimeMs timeMs;
        std::uint64_t active;
        std::uint64_t created;
        std::uint64_t validations;
        std::uint64_t rejections;
    };
    void replot();

    std::deque<Sample> m_samples;
    QLineSeries *m_active;
    QLineSeries *m_creations;
    QLineSeries *m_validations;
    QLineSeries *m_rejections;
    QDateTimeAxis *m_activeTimeAxis;
    QValueAxis *m_activeValueAxis;
    QDateTimeAxis *m_rateTimeAxis;
    QValueAxis *m_rateValueAxis;
};

} // namespace hourglass::ui
