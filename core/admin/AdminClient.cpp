#include "AdminClient.h"

namespace hourglass {

void AdminClient::setServiceRunning(bool, QObject *, std::function<void(QString)>)
{
    Q_EMIT failed(tr("%1 cannot be started or stopped from this console.").arg(describe()));
}

} // namespace hourglass
