#include "quotad/common/clock.h"

namespace quotad {

Clock* RealClock::Real() {
  static RealClock* const clock = new RealClock();
  return clock;
}

}  // namespace quotad
