#include "ActivityCharts.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QHBoxLayout>
#include <QLineSeries>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace hourglass::ui {

namespace {

QChartView *makeChartView(QWidget *parent, const QString &title, const QString &name,
                          QDateTimeAxis **timeAxis, QValueAxis **valueAxis)
{
    auto *chart = new QChart();
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    *timeAxis = new QDateTimeAxis(chart);
    (*timeAxis)->setFormat(QStringLiteral("HH:mm"));
    (*timeAxis)->setTickCount(6);
    *valueAxis = new QValueAxis(chart);
    (*valueAxis)->setLabelFormat(QStringLiteral("%.0f"));
    (*valueAxis)->setMin(0);
    chart->addAxis(*timeAxis, Qt::AlignBottom);
    chart->addAxis(*valueAxis, Qt::AlignLeft);
    auto *view = new QChartView(chart, parent);
    view->setObjectName(name);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumHeight(180);
    view->setAccessibleName(title);
    return view;
}

QLineSeries *addSeries(QChartView *view, const QString &name, QDateTimeAxis *timeAxis, QValueAxis *valueAxis)
{
    auto *series = new QLineSeries(view->chart());
    series->setName(name);
    view->chart()->addSeries(series);
    series->attachAxis(timeAxis);
    series->attachAxis(valueAxis);
    return series;
}

// A readable upper bound: 1, 2 or 5 times a power of ten above the largest value.
double niceCeiling(double value)
{
    if (value <= 5)
        return 5;
    const double magnitude = std::pow(10.0, std::floor(std::log10(value)));
    for (double step : {1.0, 2.0, 5.0, 10.0}) {
        if (value <= step * magnitude)
            return step * magnitude;
    }
    return 10 * magnitude;
}

} // namespace

ActivityCharts::ActivityCharts(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("activityCharts"));
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    QChartView *activeView =
        makeChartView(this, tr("Active sessions"), QStringLiteral("activeSessionsChartView"),
                      &m_activeTimeAxis, &m_activeValueAxis);
    m_active = addSeries(activeView, tr("Active"), m_activeTimeAxis, m_activeValueAxis);
    activeView->chart()->legend()->hide();
    QChartView *rateView = makeChartView(this, tr("Per second"), QStringLiteral("ratesChartView"),
                                         &m_rateTimeAxis, &m_rateValueAxis);
    m_creations = addSeries(rateView, tr("Creations/s"), m_rateTimeAxis, m_rateValueAxis);
    m_validations = addSeries(rateView, tr("Validations/s"), m_rateTimeAxis, m_rateValueAxis);
    m_rejections = addSeries(rateView, tr("Rejections/s"), m_rateTimeAxis, m_rateValueAxis);
    layout->addWidget(activeView, 1);
    layout->addWidget(rateView, 1);
    replot();
}

ActivityCharts::~ActivityCharts() = default;

void ActivityCharts::clear()
{
    m_samples.clear();
    replot();
}

void ActivityCharts::addSample(TimeMs timeMs, const EngineCounters &c)
{
    if (!m_samples.empty() && timeMs <= m_samples.back().timeMs)
        return; // out of order or duplicate: a rate needs elapsed time
    m_samples.push_back({timeMs, c.active[0] + c.active[1], c.created, c.validations, c.rejections()});
    while (m_samples.size() > 2 && m_samples.front().timeMs < timeMs - kWindowMs)
        m_samples.pop_front();
    replot();
}

void ActivityCharts::replot()
{
    QList<QPointF> active, creations, validations, rejections;
    double maxActive = 0, maxRate = 0;
    for (std::size_t i = 0; i < m_samples.size(); ++i) {
        const Sample &s = m_samples[i];
        active.append(QPointF(double(s.timeMs), double(s.active)));
        maxActive = std::max(maxActive, double(s.active));
        if (i == 0)
            continue;
        const Sample &p = m_samples[i - 1];
        const double seconds = double(s.timeMs - p.timeMs) / 1000.0;
        // Counters only grow; a smaller value means the service restarted: no rate for that step.
        const auto rate = [&](std::uint64_t now, std::uint64_t before) {
            return now >= before ? double(now - before) / seconds : 0.0;
        };
        const double x = double(s.timeMs);
        creations.append(QPointF(x, rate(s.created, p.created)));
        validations.append(QPointF(x, rate(s.validations, p.validations)));
        rejections.append(QPointF(x, rate(s.rejections, p.rejections)));
        maxRate = std::max({maxRate, creations.back().y(), validations.back().y(), rejections.back().y()});
    }
    m_active->replace(active);
    m_creations->replace(creations);
    m_validations->replace(validations);
    m_rejections->replace(rejections);

    const TimeMs end = m_samples.empty() ? QDateTime::currentMSecsSinceEpoch() : m_samples.back().timeMs;
    const QDateTime from = QDateTime::fromMSecsSinceEpoch(end - kWindowMs);
    const QDateTime to = QDateTime::fromMSecsSinceEpoch(end);
    m_activeTimeAxis->setRange(from, to);
    m_rateTimeAxis->setRange(from, to);
    m_activeValueAxis->setMax(niceCeiling(maxActive));
    m_rateValueAxis->setMax(niceCeiling(maxRate));
}

} // namespace hourglass::ui
