// cxx_queue: C++ std::thread, std::mutex, std::condition_variable (wait_for),
// std::this_thread::sleep_for: a consumer waits up to a minute for items a
// producer makes every 10 s. Exits 0.
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>

int main()
{
	std::mutex mu;
	std::condition_variable cv;
	std::queue<int> q;
	std::thread producer([&] {
		for (int i = 1; i <= 3; i++) {
			std::this_thread::sleep_for(std::chrono::seconds(10));
			std::lock_guard<std::mutex> g(mu);
			q.push(i);
			cv.notify_one();
		}
	});
	int sum = 0;
	for (int got = 0; got < 3; got++) {
		std::unique_lock<std::mutex> l(mu);
		bool ok = cv.wait_for(l, std::chrono::minutes(1), [&] { return !q.empty(); });
		assert(ok);
		sum += q.front();
		q.pop();
	}
	producer.join();
	assert(sum == 6);
	return 0;
}
